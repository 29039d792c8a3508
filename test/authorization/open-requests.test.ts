import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import type { InjectOptions } from 'fastify'
import { loggerOptions } from '../../src/platform/logging.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { build, type BuildOptions, type TestApp, type TestContext } from '../helpers/build.js'
import { insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const CONTACT = 'zhaolei@example.org'
const applicant = { name: 'Zhao Lei', organisation: 'Tianjin Education Research Institute', contact: CONTACT, qualification: 'provincial project 2026-17' }
const filing = { dataset: 'courses', applicant, purpose: 'comparative study of course offerings', fields: ['student_id', 'college'], scope: 'the project team; aggregates only' }
const csSteward = { unit: 'CS', sub: 'cs-steward' }

/** The three review levels approve: the dataset enters the open catalog. */
async function openUp (h: TestApp, code: string, unit: string) {
  for (const [role, claims] of [['steward', { unit, sub: `${unit}-steward` }], ['security_admin', { unit: 'OFFICE', sub: 'office' }], ['leadership', { unit: 'LEAD', sub: 'leader' }]] as const) {
    const res = await h.as(role, { method: 'POST', url: `/api/v1/datasets/${code}/open-reviews`, payload: { decision: 'approve' } }, claims)
    if (res.statusCode !== 201) throw new Error(`opening ${code}: ${res.statusCode} ${res.body}`)
  }
}

/**
 * courses (CS) and labs (MATH): conditional open, in the open catalog; notices (CS): unconditional
 * open, in it; drafts (CS): conditional open, never reviewed.
 */
async function setup (t: TestContext, options: BuildOptions = {}) {
  const h = await build(t, options)
  await insertDataset(h, { code: 'courses', subject: 'courses', producer_unit: 'CS', open_attribute: 'conditional' })
  await insertDataset(h, { code: 'labs', subject: 'labs', producer_unit: 'MATH', open_attribute: 'conditional' })
  await insertDataset(h, { code: 'notices', subject: 'notices', producer_unit: 'CS', open_attribute: 'unconditional' })
  await insertDataset(h, { code: 'unreviewed', subject: 'unreviewed', producer_unit: 'CS', open_attribute: 'conditional' })
  await openUp(h, 'courses', 'CS')
  await openUp(h, 'labs', 'MATH')
  await openUp(h, 'notices', 'CS')
  return h
}

async function file (h: TestApp, payload: object = filing) {
  return await h.app.inject({ method: 'POST', url: '/api/v1/open-requests', payload })
}

async function filed (h: TestApp, payload: object = filing) {
  const res = await file(h, payload)
  if (res.statusCode !== 201) throw new Error(`filing: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function decide (h: TestApp, id: string, payload: object, role: Role = 'security_admin') {
  return await h.as(role, { method: 'POST', url: `/api/v1/open-requests/${id}/reviews`, payload })
}

async function status (h: TestApp, id: string, receipt: string) {
  return await h.app.inject({ method: 'GET', url: `/api/v1/open-requests/${id}/status?receipt=${receipt}` })
}

async function writes (h: TestApp) {
  const db = h.database.db
  const requests = await db.selectFrom('open_requests').selectAll().execute()
  const reviews = await db.selectFrom('open_request_reviews').selectAll().execute()
  const events = await db.selectFrom('domain_events').selectAll().where('object_type', '=', 'open_request').orderBy('id').execute()
  return { requests, reviews, events }
}

t.test('an outside applicant files a request without a token and follows it with its receipt', async (t) => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _enc, done) { lines.push(chunk.toString()); done() } })
  const h = await setup(t, { logger: pino({ ...(loggerOptions('info') as pino.LoggerOptions), transport: undefined }, sink) })
  const res = await file(h)
  t.equal(res.statusCode, 201)
  const created = res.json()
  t.match(created, {
    id: UUID,
    dataset: 'courses',
    status: 'pending_review',
    applicant,
    purpose: filing.purpose,
    fields: ['student_id', 'college'],
    scope: filing.scope,
    conditions: null,
    validUntil: null,
    expired: false,
    receipt: /^[A-Za-z0-9_-]{43}$/
  })
  t.equal(created.statusUrl, `/api/v1/open-requests/${created.id}/status`)

  const { requests, events } = await writes(h)
  t.equal(requests.length, 1)
  t.equal(requests[0]!.receipt_sha256, createHash('sha256').update(created.receipt).digest('hex'), 'only the receipt\'s SHA-256 is stored')
  t.notMatch(JSON.stringify(requests), created.receipt, 'the receipt itself is nowhere')
  t.equal(requests[0]!.producer_unit, 'CS')
  t.equal(events.length, 1)
  t.match(events[0], { service: 'authorization', action: 'open_request.create', actor_sub: 'anonymous', actor_unit: '', object_id: created.id, dataset_code: 'courses' })
  t.same(events[0]!.details, { fields: ['student_id', 'college'] })
  t.notMatch(JSON.stringify(events), /Zhao|example\.org/, 'nothing of the applicant is in the event')

  const followed = await status(h, created.id, created.receipt)
  t.equal(followed.statusCode, 200)
  t.same(followed.json(), {
    id: created.id,
    dataset: 'courses',
    status: 'pending_review',
    conditions: null,
    validUntil: null,
    expired: false,
    createdAt: created.createdAt,
    reason: null,
    decidedAt: null
  })
  for (const [label, id, receipt] of [
    ['a wrong receipt', created.id, 'x'.repeat(43)],
    ['another request\'s receipt', '00000000-0000-4000-8000-000000000000', created.receipt]
  ]) {
    const wrong = await status(h, id!, receipt!)
    t.equal(wrong.statusCode, 404, label)
    t.equal(wrong.json().code, 'AUTHZ_OPEN_REQUEST_NOT_FOUND')
  }
  const missing = await h.app.inject({ method: 'GET', url: `/api/v1/open-requests/${created.id}/status` })
  t.equal(missing.statusCode, 400)
  t.match(missing.json().errors, [{ in: 'querystring', field: 'receipt' }])

  const all = (await filed(h, { ...filing, fields: undefined })).fields
  t.same(all, STUDENT_FIELDS.map((f) => f.name), 'no fields: every field of the dataset')

  const logged = lines.join('')
  t.match(logged, /open-requests/, 'the requests were logged')
  t.notMatch(logged, created.receipt, 'the receipt never reaches the log')
  t.notMatch(logged, CONTACT, 'nor the contact')
})

t.test('bad filings are a 400 naming the field, and nothing is written', async (t) => {
  const h = await setup(t)
  const cases: [string, unknown, string, RegExp?][] = [
    ['an unknown dataset', { ...filing, dataset: 'nothing' }, 'dataset', /no dataset with code nothing is in the open catalog/],
    ['a dataset not in the open catalog', { ...filing, dataset: 'unreviewed' }, 'dataset', /no dataset with code unreviewed is in the open catalog/],
    ['an unconditional-open dataset', { ...filing, dataset: 'notices' }, 'dataset', /open without conditions/],
    ['an unknown field', { ...filing, fields: ['college', 'salary'] }, 'fields.1', /has no field salary/],
    ['no fields', { ...filing, fields: [] }, 'fields'],
    ['a repeated field', { ...filing, fields: ['college', 'college'] }, 'fields'],
    ['a bad field name', { ...filing, fields: ['1x'] }, 'fields.0'],
    ['no applicant', { ...filing, applicant: undefined }, 'applicant'],
    ['no contact', { ...filing, applicant: { ...applicant, contact: undefined } }, 'applicant.contact'],
    ['an empty name', { ...filing, applicant: { ...applicant, name: '' } }, 'applicant.name'],
    ['a name too long', { ...filing, applicant: { ...applicant, name: 'x'.repeat(101) } }, 'applicant.name'],
    ['a line break in the organisation', { ...filing, applicant: { ...applicant, organisation: 'A\nB' } }, 'applicant.organisation'],
    ['a control character in the purpose', { ...filing, purpose: 'study\u0000' }, 'purpose'],
    ['a purpose too long', { ...filing, purpose: 'x'.repeat(2001) }, 'purpose'],
    ['no scope', { ...filing, scope: undefined }, 'scope'],
    ['an unknown applicant field', { ...filing, applicant: { ...applicant, idNumber: '1' } }, 'applicant.idNumber'],
    ['an unknown field', { ...filing, status: 'approved' }, 'status']
  ]
  for (const [label, payload, field, detail] of cases) {
    const res = await file(h, payload as object)
    t.equal(res.statusCode, 400, label)
    t.equal(res.json().code, 'VALIDATION_FAILED', label)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
    if (detail) t.match(res.json().detail, detail, label)
  }
  const { requests, events } = await writes(h)
  t.same([requests.length, events.length], [0, 0], 'nothing written')
})

t.test('the office decides once, with conditions and a validity, or a reason', async (t) => {
  const h = await setup(t)
  const first = await filed(h)
  const second = await filed(h)

  for (const role of ['steward', 'auditor', 'leadership', 'consumer', 'system_admin', 'supervisor'] as const) {
    const res = await h.as(role, { method: 'POST', url: `/api/v1/open-requests/${first.id}/reviews`, payload: { decision: 'approve' } }, csSteward)
    t.equal(res.statusCode, 403, `${role} does not decide`)
    t.equal(res.json().code, 'AUTH_FORBIDDEN')
  }
  const invalid: [string, object, string][] = [
    ['a rejection without a reason', { decision: 'reject' }, 'reason'],
    ['a rejection with conditions', { decision: 'reject', reason: 'no', conditions: 'c' }, 'conditions'],
    ['a rejection with a validity', { decision: 'reject', reason: 'no', validUntil: '2099-01-01' }, 'validUntil'],
    ['a validity in the past', { decision: 'approve', validUntil: '2020-01-01' }, 'validUntil'],
    ['a validity that is no date', { decision: 'approve', validUntil: 'soon' }, 'validUntil'],
    ['an unknown decision', { decision: 'defer' }, 'decision']
  ]
  for (const [label, payload, field] of invalid) {
    const res = await decide(h, first.id, payload)
    t.equal(res.statusCode, 400, label)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
  }
  t.same((await writes(h)).reviews, [], 'no decision was recorded')

  const approved = await decide(h, first.id, { decision: 'approve', reason: 'accredited institute', conditions: 'aggregates only', validUntil: '2099-12-31' })
  t.equal(approved.statusCode, 201)
  t.match(approved.json(), {
    id: first.id,
    status: 'approved',
    producerUnit: 'CS',
    conditions: 'aggregates only',
    validUntil: '2099-12-31',
    expired: false,
    review: { decision: 'approve', reason: 'accredited institute', conditions: 'aggregates only', validUntil: '2099-12-31', reviewer: 'tester' }
  })
  const again = await decide(h, first.id, { decision: 'reject', reason: 'changed our mind' })
  t.equal(again.statusCode, 409, 'decided once')
  t.equal(again.json().code, 'AUTHZ_OPEN_REQUEST_STATE')
  t.match((await status(h, first.id, first.receipt)).json(), {
    status: 'approved', conditions: 'aggregates only', validUntil: '2099-12-31', reason: 'accredited institute', decidedAt: /Z$/
  })

  const rejected = await decide(h, second.id, { decision: 'reject', reason: 'the purpose needs no student ids' })
  t.match(rejected.json(), { status: 'rejected', conditions: null, validUntil: null, review: { decision: 'reject' } })
  t.match((await status(h, second.id, second.receipt)).json(), { status: 'rejected', reason: 'the purpose needs no student ids' })

  const third = await filed(h)
  const defaulted = (await decide(h, third.id, { decision: 'approve' })).json()
  const inAYear = Date.now() + 365 * 86_400_000
  t.ok(Math.abs(Date.parse(defaulted.validUntil) - inAYear) < 2 * 86_400_000, `valid a year by default: ${defaulted.validUntil}`)

  const { events } = await writes(h)
  t.same(events.map((e) => [e.action, e.actor_sub]), [
    ['open_request.create', 'anonymous'], ['open_request.create', 'anonymous'], ['open_request.approve', 'tester'],
    ['open_request.reject', 'tester'], ['open_request.create', 'anonymous'], ['open_request.approve', 'tester']
  ])
  t.same(events[2]!.details, { reason: 'accredited institute', validUntil: '2099-12-31', conditions: true })
  t.same(events[3]!.details, { reason: 'the purpose needs no student ids' })
  t.notMatch(JSON.stringify(events), /Zhao|example\.org/)
})

t.test('an approval needs the dataset still conditional-open in the open catalog', async (t) => {
  const h = await setup(t)
  const request = await filed(h)
  const patch = await h.as('security_admin', { method: 'PATCH', url: '/api/v1/datasets/courses', payload: { openAttribute: 'none', reason: 'withdrawn' } })
  t.equal(patch.statusCode, 200)
  const res = await decide(h, request.id, { decision: 'approve' })
  t.equal(res.statusCode, 409)
  t.match(res.json(), { code: 'AUTHZ_OPEN_REQUEST_STATE', detail: /no longer conditional-open in the open catalog \(the open attribute is none/ })
  t.equal((await decide(h, request.id, { decision: 'reject', reason: 'the dataset was withdrawn' })).statusCode, 201, 'it can be rejected')
  const late = await file(h)
  t.equal(late.statusCode, 400, 'and new requests are refused')
  t.match(late.json().errors, [{ field: 'dataset' }])
})

t.test('the office and auditors see every request; a steward those on its unit\'s datasets', async (t) => {
  const h = await setup(t)
  const courses = await filed(h)
  const labs = await filed(h, { ...filing, dataset: 'labs' })
  await decide(h, labs.id, { decision: 'reject', reason: 'no' })

  const list = async (role: Role | Role[], query = '', claims = csSteward) =>
    await h.as(role, { method: 'GET', url: `/api/v1/open-requests${query}` }, claims)
  for (const role of ['security_admin', 'auditor'] as const) {
    const res = await list(role)
    t.equal(res.statusCode, 200)
    t.same(res.json().data.map((r: { id: string }) => r.id), [labs.id, courses.id], `${role} sees both, newest first`)
  }
  const page = (await list('auditor', '?limit=1')).json()
  t.same(page.data.map((r: { id: string }) => r.id), [labs.id])
  const next = (await list('auditor', `?limit=1&cursor=${page.nextCursor}`)).json()
  t.same([next.data.map((r: { id: string }) => r.id), next.nextCursor], [[courses.id], null])
  t.same((await list('auditor', '?status=rejected')).json().data.map((r: { id: string }) => r.id), [labs.id])
  t.same((await list('auditor', '?dataset=courses')).json().data.map((r: { id: string }) => r.id), [courses.id])
  t.equal((await list('auditor', '?cursor=bm9wZQ')).statusCode, 400)

  const mine = (await list('steward')).json()
  t.same(mine.data.map((r: { id: string }) => r.id), [courses.id], 'the CS steward sees CS\'s only')
  t.match(mine.data[0], { applicant, producerUnit: 'CS', review: null })
  t.same((await list('steward', '?dataset=labs')).json(), { data: [], nextCursor: null }, 'a filter does not widen it')

  const show = async (role: Role, id: string) => await h.as(role, { method: 'GET', url: `/api/v1/open-requests/${id}` }, csSteward)
  t.equal((await show('steward', courses.id)).statusCode, 200)
  const other = await show('steward', labs.id)
  t.equal(other.statusCode, 404, 'another unit\'s request is not there for a steward')
  t.equal(other.json().code, 'AUTHZ_OPEN_REQUEST_NOT_FOUND')
  t.match((await show('auditor', labs.id)).json(), { status: 'rejected', review: { reason: 'no' } })
  t.equal((await show('security_admin', '00000000-0000-4000-8000-000000000000')).statusCode, 404)
  for (const role of ['consumer', 'leadership', 'system_admin', 'supervisor'] as const) {
    t.equal((await list(role)).statusCode, 403, `${role} lists none`)
    t.equal((await show(role, courses.id)).statusCode, 403, `${role} reads none`)
  }
  const anonymous: InjectOptions[] = [
    { method: 'GET', url: '/api/v1/open-requests' },
    { method: 'GET', url: `/api/v1/open-requests/${courses.id}` },
    { method: 'POST', url: `/api/v1/open-requests/${courses.id}/reviews`, payload: { decision: 'approve' } }
  ]
  for (const request of anonymous) t.equal((await h.app.inject(request)).statusCode, 401, `no token: ${request.method} ${request.url}`)
})

t.test('filing has its own, tighter limit per address', async (t) => {
  // RATE_LIMIT_MAX / 20: one filing per window here
  const h = await setup(t, { env: { RATE_LIMIT_MAX: '20' } })
  t.equal((await file(h)).statusCode, 201)
  const second = await file(h)
  t.equal(second.statusCode, 429)
  t.equal(second.json().code, 'RATE_LIMITED')
  t.equal((await writes(h)).requests.length, 1)
})
