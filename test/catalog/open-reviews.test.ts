import t from 'tap'
import type { InjectOptions } from 'fastify'
import { isOpen, openDatasets } from '../../src/catalog/open-reviews/repository.js'
import { createDatasetRepository } from '../../src/catalog/datasets/repository.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { build, type TestApp, type TestContext } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'

interface Reviewer { role: Role | Role[], claims: { unit: string, sub: string } }
const steward: Reviewer = { role: 'steward', claims: { unit: 'CS', sub: 'cs-steward' } }
const office: Reviewer = { role: 'security_admin', claims: { unit: 'OFFICE', sub: 'office' } }
const leader: Reviewer = { role: 'leadership', claims: { unit: 'LEAD', sub: 'vice-president' } }
const mathSteward: Reviewer = { role: 'steward', claims: { unit: 'MATH', sub: 'math-steward' } }
const auditor: Reviewer = { role: 'auditor', claims: { unit: 'AUDIT', sub: 'auditor' } }

/** A conditional-open published dataset of CS, and one of MATH. */
async function setup (t: TestContext) {
  const h = await build(t)
  await insertDataset(h, { code: 'courses', producer_unit: 'CS', open_attribute: 'conditional' })
  await insertDataset(h, { code: 'rooms', producer_unit: 'MATH', open_attribute: 'unconditional' })
  return h
}

const url = (code: string) => `/api/v1/datasets/${code}/open-reviews`

async function review (h: TestApp, who: Reviewer, payload: object, code = 'courses') {
  return await h.as(who.role, { method: 'POST', url: url(code), payload }, who.claims)
}

async function approve (h: TestApp, who: Reviewer, code = 'courses') {
  const res = await review(h, who, { decision: 'approve' }, code)
  if (res.statusCode !== 201) throw new Error(`approving as ${String(who.role)}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** The three levels in order: the dataset enters the open catalog. */
async function openUp (h: TestApp, code = 'courses', producer = steward) {
  await approve(h, producer, code)
  await approve(h, office, code)
  return await approve(h, leader, code)
}

async function rounds (h: TestApp, who: Reviewer = office, query = '') {
  const res = await h.as(who.role, { method: 'GET', url: `${url('courses')}${query}` }, who.claims)
  return res
}

async function counts (h: TestApp) {
  const db = h.database.db
  const [r, v, e] = await Promise.all([
    db.selectFrom('open_review_rounds').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('open_reviews').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('domain_events').select((eb) => eb.fn.countAll<string>().as('n')).where('action', 'like', 'open_review.%').executeTakeFirstOrThrow()
  ])
  return { rounds: Number(r.n), reviews: Number(v.n), events: Number(e.n) }
}

async function regrade (h: TestApp, openAttribute: string, code = 'courses') {
  const res = await h.as('security_admin', { method: 'PATCH', url: `/api/v1/datasets/${code}`, payload: { openAttribute, reason: 'test' } })
  if (res.statusCode !== 200) throw new Error(`regrading: ${res.statusCode} ${res.body}`)
}

t.test('the three levels in order put a dataset into the open catalog', async (t) => {
  const h = await setup(t)
  t.notOk(await isOpen(h.database.db, 'courses'), 'not open before any review')

  const first = await review(h, steward, { decision: 'approve', reason: 'nothing confidential' })
  t.equal(first.statusCode, 201)
  t.match(first.json(), {
    dataset: 'courses',
    review: { level: 1, role: 'steward', decision: 'approve', reason: 'nothing confidential', reviewer: 'cs-steward', reviewerUnit: 'CS' },
    round: { round: 1, status: 'in_review', awaiting: { level: 2, role: 'security_admin' }, startedBy: 'cs-steward', closedAt: null },
    openCatalog: { open: false, round: null, since: null, reason: /no review round has been approved/ }
  })
  const second = await approve(h, office)
  t.match(second, { review: { level: 2, role: 'security_admin' }, round: { round: 1, awaiting: { level: 3, role: 'leadership' } } })
  t.equal(second.round.reviews.length, 2)
  t.notOk(await isOpen(h.database.db, 'courses'), 'not open before the leading group')

  const third = await approve(h, leader)
  t.match(third, {
    review: { level: 3, role: 'leadership', reviewer: 'vice-president' },
    round: { round: 1, status: 'approved', awaiting: null, approvedOpenAttribute: 'conditional' },
    openCatalog: { open: true, round: 1, reason: null }
  })
  t.equal(third.openCatalog.since, third.round.closedAt, 'open since the level-3 approval')
  t.same(third.round.reviews.map((r: { level: number }) => r.level), [1, 2, 3])
  t.ok(await isOpen(h.database.db, 'courses'))
  t.notOk(await isOpen(h.database.db, 'rooms'), 'an unreviewed dataset is not open')
  t.notOk(await isOpen(h.database.db, 'nothing'))
  const open = await openDatasets(h.database.db)
  t.same(open.map((o) => [o.dataset.code, o.round, o.since.toISOString()]), [['courses', 1, third.round.closedAt]])

  for (const who of [steward, office, leader, auditor, { role: ['auditor', 'steward'], claims: mathSteward.claims } as Reviewer]) {
    const res = await rounds(h, who)
    t.equal(res.statusCode, 200, `${String(who.role)} reads the rounds`)
    t.same(res.json(), { dataset: 'courses', openCatalog: third.openCatalog, data: [third.round], nextCursor: null })
  }

  const events = await h.database.db.selectFrom('domain_events').selectAll().where('dataset_code', '=', 'courses').orderBy('id').execute()
  t.same(events.map((e) => [e.action, e.actor_sub, e.service]), [
    ['open_review.approve', 'cs-steward', 'catalog'],
    ['open_review.approve', 'office', 'catalog'],
    ['open_review.approve', 'vice-president', 'catalog'],
    ['dataset.open', 'vice-president', 'catalog']
  ])
  t.match(events[0], { object_type: 'open_review_round', details: { round: 1, level: 1, role: 'steward', reason: 'nothing confidential' }, request_id: /.+/ })
  t.match(events[3], { object_type: 'dataset', object_id: 'courses', details: { round: 1, openAttribute: 'conditional', gradeVersion: 1 } })
})

t.test('levels review in order, once each, by their own roles and people', async (t) => {
  const h = await setup(t)
  const refuse = async (label: string, who: Reviewer, status: number, code: string, detail?: RegExp) => {
    const res = await review(h, who, { decision: 'approve' })
    t.equal(res.statusCode, status, label)
    t.equal(res.json().code, code, label)
    if (detail) t.match(res.json().detail, detail, label)
  }
  await refuse('the office before the producer', office, 409, 'CATALOG_OPEN_REVIEW_ORDER', /level 1, the producer unit's steward, has not approved/)
  await refuse('the leading group before the producer', leader, 409, 'CATALOG_OPEN_REVIEW_ORDER', /level 1/)
  await refuse('a steward of another unit', mathSteward, 403, 'CATALOG_OPEN_REVIEW_FORBIDDEN', /producer unit CS/)
  for (const role of ['consumer', 'auditor', 'system_admin', 'supervisor'] as const) {
    await refuse(`${role} reviews nothing`, { role, claims: { unit: 'CS', sub: role } }, 403, 'AUTH_FORBIDDEN')
  }
  t.same(await counts(h), { rounds: 0, reviews: 0, events: 0 }, 'no round was started')

  // a person holding the producer's and the leading group's roles reviews one level only
  const both: Reviewer = { role: ['steward', 'leadership'], claims: { unit: 'CS', sub: 'dean' } }
  t.match(await approve(h, both), { review: { level: 1 }, round: { awaiting: { level: 2 } } })
  await refuse('the producer twice', steward, 409, 'CATALOG_OPEN_REVIEW_REPEATED', /level 1 has already approved round 1; it now waits for level 2/)
  await refuse('the leading group before the office', leader, 409, 'CATALOG_OPEN_REVIEW_ORDER', /round 1: level 2, the data-management office/)
  await approve(h, office)
  await refuse('the office twice', office, 409, 'CATALOG_OPEN_REVIEW_REPEATED')
  await refuse('the level-1 reviewer at level 3', both, 403, 'CATALOG_OPEN_REVIEW_FORBIDDEN', /dean already reviewed this round at level 1/)
  t.same(await counts(h), { rounds: 1, reviews: 2, events: 2 }, 'the refusals wrote nothing')
  t.notOk(await isOpen(h.database.db, 'courses'))

  t.equal((await rounds(h, mathSteward)).statusCode, 403, 'another unit\'s steward does not read the rounds')
  t.equal((await rounds(h, mathSteward)).json().code, 'CATALOG_OPEN_REVIEW_FORBIDDEN')
  for (const role of ['consumer', 'system_admin', 'supervisor'] as const) {
    t.equal((await rounds(h, { role, claims: { unit: 'CS', sub: role } })).json().code, 'AUTH_FORBIDDEN', `${role} reads no rounds`)
  }
})

t.test('only a published dataset that may be opened is reviewed', async (t) => {
  const h = await setup(t)
  await insertDataset(h, { code: 'payroll', subject: 'payroll', producer_unit: 'CS', open_attribute: 'none' })
  await insertDataset(h, { code: 'draft_courses', subject: 'draft', producer_unit: 'CS', open_attribute: 'conditional', status: 'draft', published_at: null })
  await insertDataset(h, { code: 'old_courses', subject: 'old', producer_unit: 'CS', open_attribute: 'conditional', status: 'retired' })
  const cases: [string, Reviewer, number, string, RegExp?][] = [
    ['payroll', steward, 409, 'CATALOG_NOT_OPENABLE', /not open \(open attribute none/],
    ['draft_courses', steward, 409, 'CATALOG_NOT_OPENABLE', /is draft: only a published dataset/],
    ['old_courses', office, 409, 'CATALOG_NOT_OPENABLE', /is retired/],
    ['draft_courses', leader, 404, 'CATALOG_DATASET_NOT_FOUND'],
    ['nothing', steward, 404, 'CATALOG_DATASET_NOT_FOUND']
  ]
  for (const [code, who, status, problem, detail] of cases) {
    const res = await review(h, who, { decision: 'approve' }, code)
    t.equal(res.statusCode, status, `${code} as ${String(who.role)}`)
    t.equal(res.json().code, problem)
    if (detail) t.match(res.json().detail, detail)
  }
  t.equal((await h.as('auditor', { method: 'GET', url: url('nothing') })).statusCode, 404)
  t.same(await counts(h), { rounds: 0, reviews: 0, events: 0 })
})

t.test('bad input is a 400 naming the field, and nothing is written', async (t) => {
  const h = await setup(t)
  const cases: [string, unknown, string][] = [
    ['no decision', {}, 'decision'],
    ['unknown decision', { decision: 'maybe' }, 'decision'],
    ['a rejection without a reason', { decision: 'reject' }, 'reason'],
    ['an empty reason', { decision: 'reject', reason: '' }, 'reason'],
    ['a reason too long', { decision: 'approve', reason: 'x'.repeat(2001) }, 'reason'],
    ['an unknown field', { decision: 'approve', level: 3 }, 'level']
  ]
  for (const [label, payload, field] of cases) {
    const res = await review(h, steward, payload as object)
    t.equal(res.statusCode, 400, label)
    t.equal(res.json().code, 'VALIDATION_FAILED', label)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
  }
  const badCode = await h.as('steward', { method: 'POST', url: url('a%20b'), payload: { decision: 'approve' } }, steward.claims)
  t.equal(badCode.statusCode, 400)
  t.match(badCode.json().errors, [{ in: 'params', field: 'code' }])
  const badCursor = await rounds(h, office, '?cursor=bm9wZQ')
  t.equal(badCursor.statusCode, 400)
  t.match(badCursor.json().errors, [{ field: 'cursor' }])
  t.same(await counts(h), { rounds: 0, reviews: 0, events: 0 })
})

t.test('a rejection closes the round; a level-1 approval starts the next', async (t) => {
  const h = await setup(t)
  await approve(h, steward)
  const rejected = await review(h, office, { decision: 'reject', reason: 'the room numbers are internal' })
  t.equal(rejected.statusCode, 201)
  t.match(rejected.json(), {
    review: { level: 2, decision: 'reject', reason: 'the room numbers are internal' },
    round: { round: 1, status: 'rejected', awaiting: null, closedAt: /Z$/, approvedOpenAttribute: null },
    openCatalog: { open: false, round: 1, reason: 'review round 1 was rejected' }
  })
  const late = await review(h, leader, { decision: 'approve' })
  t.equal(late.statusCode, 409, 'the rejected round takes no more reviews')
  t.match(late.json().detail, /no review round is open: level 1/)

  const second = await approve(h, steward)
  t.match(second.round, { round: 2, status: 'in_review', awaiting: { level: 2 } })
  await approve(h, office)
  t.match((await approve(h, leader)).openCatalog, { open: true, round: 2 })

  const all = (await rounds(h, auditor)).json()
  t.same(all.data.map((r: { round: number, status: string }) => [r.round, r.status]), [[2, 'approved'], [1, 'rejected']], 'newest first')
  const page1 = (await rounds(h, auditor, '?limit=1')).json()
  t.same(page1.data.map((r: { round: number }) => r.round), [2])
  t.type(page1.nextCursor, 'string')
  const page2 = (await rounds(h, auditor, `?limit=1&cursor=${page1.nextCursor}`)).json()
  t.same(page2.data, [all.data[1]])
  t.equal(page2.nextCursor, null)

  const events = await h.database.db.selectFrom('domain_events').select(['action', 'details']).where('action', '=', 'open_review.reject').execute()
  t.same(events, [{ action: 'open_review.reject', details: { round: 1, level: 2, role: 'security_admin', reason: 'the room numbers are internal' } }])

  // a later round rejected by the producer takes the dataset out of the open catalog
  const withdrawn = await review(h, steward, { decision: 'reject', reason: 'the timetable changes next term' })
  t.match(withdrawn.json(), { round: { round: 3, status: 'rejected', reviews: [{ level: 1 }] }, openCatalog: { open: false, round: 3 } })
  t.notOk(await isOpen(h.database.db, 'courses'))
})

t.test('the open catalog follows the dataset: open attribute none, widening, retirement', async (t) => {
  const h = await setup(t)
  await openUp(h)
  await openUp(h, 'rooms', mathSteward)
  t.same((await openDatasets(h.database.db)).map((o) => o.dataset.code), ['courses', 'rooms'])

  // a round under review does not close an open dataset
  await approve(h, steward)
  t.ok(await isOpen(h.database.db, 'courses'), 'still open while a new round is under review')
  await review(h, office, { decision: 'reject', reason: 'not this time' })

  await openUp(h)
  await regrade(h, 'none')
  t.notOk(await isOpen(h.database.db, 'courses'), 'open attribute none: out of the open catalog')
  t.match((await rounds(h)).json().openCatalog, { open: false, reason: 'the open attribute is none (不予开放)' })
  await regrade(h, 'conditional')
  t.notOk(await isOpen(h.database.db, 'courses'), 'setting it back does not bring the approval back')
  t.match((await rounds(h)).json().openCatalog, { open: false, reason: /set to none after round 3 was approved; a new review round is needed/ })
  t.match((await openUp(h)).openCatalog, { open: true, round: 4 }, 'a new round opens it again')

  await regrade(h, 'unconditional')
  t.notOk(await isOpen(h.database.db, 'courses'), 'widened beyond what was approved')
  t.match((await rounds(h)).json().openCatalog.reason, /widened to unconditional after round 4 approved conditional/)
  t.match((await openUp(h)).openCatalog, { open: true, round: 5 })
  await regrade(h, 'conditional')
  t.ok(await isOpen(h.database.db, 'courses'), 'narrowing keeps it open')

  await createDatasetRepository(h.database.db).update('rooms', { status: 'retired' })
  t.notOk(await isOpen(h.database.db, 'rooms'), 'a retired dataset leaves the open catalog')
  t.match((await h.as('auditor', { method: 'GET', url: url('rooms') })).json().openCatalog, { open: false, round: 1, reason: 'the dataset is retired' })
  await createDatasetRepository(h.database.db).update('courses', { status: 'destroyed' })
  t.same(await openDatasets(h.database.db), [], 'nothing is open any more')
})

t.test('no token, no review', async (t) => {
  const h = await setup(t)
  const requests: InjectOptions[] = [
    { method: 'POST', url: url('courses'), payload: { decision: 'approve' } },
    { method: 'GET', url: url('courses') }
  ]
  for (const request of requests) {
    const res = await h.app.inject(request)
    t.equal(res.statusCode, 401, `no token: ${request.method}`)
  }
})
