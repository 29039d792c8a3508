import t from 'tap'
import { eventsOf } from '../../src/platform/events.js'
import { addWorkingDays, campusCalendar } from '../../src/platform/calendar.js'
import { reportOverdueReviews } from '../../src/authorization/share-requests/overdue.js'
import { build, type TestApp } from '../helpers/build.js'
import { insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'
import { seedStudents, studentRow } from '../helpers/data.js'
import { addPurpose } from '../helpers/purposes.js'
import {
  call, commit, CS_STEWARD, day, file, grantFor, LAW, LAW_STEWARD, MATH, MATH_STEWARD, OFFICE, requestBody, review, sharingSetup, sign
} from '../helpers/sharing.js'

async function setup (t: Parameters<typeof build>[0], env?: Record<string, string>) {
  const h = await build(t, env ? { env } : {})
  await sharingSetup(h)
  return h
}

const countRequests = async (h: TestApp) => Number((await h.database.db.selectFrom('share_requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

t.test('conditional data: producer and office approve, the agreement is signed by three, the commitment, then the grant', async (t) => {
  const h = await setup(t)
  const filed = await file(h)
  t.match(filed, {
    dataset: 'grades',
    producerUnit: 'CS',
    consumerUnit: 'MATH',
    requestedBy: 'math-alice',
    status: 'pending_review',
    workflow: 'producer_office',
    awaiting: ['producer', 'office', 'commitment', 'agreement'],
    rowFilter: { college: 'CS' },
    masked: true,
    agreement: null,
    grant: null,
    overdue: false
  })
  const due = addWorkingDays(new Date(filed.createdAt), 5).getTime()
  t.ok(Math.abs(Date.parse(filed.reviewDueAt) - due) < 5000, 'due in five working days')

  const afterOffice = (await review(h, filed.id, 'office', { decision: 'approve', reason: 'fits the duty' })).json()
  t.equal(afterOffice.status, 'pending_review', 'one approval is not enough')
  t.same(afterOffice.awaiting, ['producer', 'commitment', 'agreement'])
  const approved = (await review(h, filed.id, 'producer')).json()
  t.equal(approved.status, 'approved')
  t.match(approved.agreement, /^[0-9a-f-]{36}$/, 'the tripartite agreement exists once both approved')
  t.same(approved.reviews.map((r: { party: string }) => r.party), ['office', 'producer'])

  const agreement = (await call(h, 'consumer', MATH, 'GET', `/api/v1/agreements/${approved.agreement}`)).json()
  t.match(agreement, { shareRequest: filed.id, consumerUnit: 'MATH', producerUnit: 'CS', status: 'pending_signatures', awaiting: ['consumer', 'producer', 'office'] })
  t.match(agreement.content, /TRIPARTITE/)
  t.match(agreement.digest.sha256, /^[0-9a-f]{64}$/)
  t.match(agreement.digest.sm3, /^[0-9a-f]{64}$/)

  const committed = (await commit(h, filed.id)).json()
  t.equal(committed.commitment.signer, 'math-alice')
  t.match(committed.commitment.text, /USAGE COMMITMENT/)
  t.same(committed.awaiting, ['agreement'])
  t.equal(committed.grant, null)

  t.equal((await sign(h, approved.agreement, 'producer')).statusCode, 200)
  t.equal((await sign(h, approved.agreement, 'consumer')).statusCode, 200)
  const signed = (await sign(h, approved.agreement, 'office')).json()
  t.equal(signed.status, 'signed')
  t.ok(signed.completedAt)

  const active = (await call(h, 'consumer', MATH, 'GET', `/api/v1/share-requests/${filed.id}`)).json()
  t.equal(active.status, 'active')
  t.same(active.awaiting, [])
  const grant = (await call(h, 'consumer', MATH, 'GET', `/api/v1/grants/${active.grant}`)).json()
  t.match(grant, {
    shareRequest: filed.id,
    consumerUnit: 'MATH',
    subject: null,
    dataset: 'grades',
    producerUnit: 'CS',
    fields: ['student_id', 'college', 'gpa'],
    rowFilter: { college: 'CS' },
    accessModes: ['api'],
    validFrom: day(0),
    validUntil: day(180),
    dailyRowQuota: 5000,
    masked: true,
    status: 'active'
  })

  // revoke: the producer's steward; then nothing more
  t.equal((await call(h, 'consumer', MATH, 'POST', `/api/v1/grants/${grant.id}/revoke`, { reason: 'x' })).statusCode, 403, 'the consumer does not revoke')
  const revoked = await call(h, 'steward', CS_STEWARD, 'POST', `/api/v1/grants/${grant.id}/revoke`, { reason: 'assessment over' })
  t.equal(revoked.statusCode, 200)
  t.match(revoked.json(), { status: 'revoked', statusReason: 'assessment over', statusChangedBy: 'cs-steward' })
  t.equal((await call(h, 'security_admin', OFFICE, 'POST', `/api/v1/grants/${grant.id}/revoke`, { reason: 'again' })).statusCode, 409)

  const actions = (await eventsOf(h.database.db, 'share_request', filed.id)).map((e) => e.action)
  t.same(actions, ['share_request.create', 'share_request.approve', 'share_request.approve', 'share_request.commit'])
  t.same((await eventsOf(h.database.db, 'agreement', approved.agreement)).map((e) => e.details.party), ['producer', 'consumer', 'office'])
  t.same((await eventsOf(h.database.db, 'grant', grant.id)).map((e) => e.action), ['grant.grant', 'grant.revoke'])
})

t.test('basic personnel data: the office alone reviews, no agreement', async (t) => {
  const h = await setup(t)
  const filed = await file(h, { dataset: 'students', fields: ['student_id', 'name'] })
  t.match(filed, { workflow: 'office', awaiting: ['office', 'commitment'] })
  const producer = await review(h, filed.id, 'producer')
  t.equal(producer.statusCode, 403)
  t.match(producer.json().detail, /office alone/)
  const approved = (await review(h, filed.id, 'office')).json()
  t.match(approved, { status: 'approved', agreement: null, awaiting: ['commitment'] })
  const active = (await commit(h, filed.id)).json()
  t.equal(active.status, 'active')
  t.match(active.grant, /^[0-9a-f-]{36}$/)
})

t.test('unconditional data is approved by rule and still needs the commitment', async (t) => {
  const h = await setup(t)
  const filed = await file(h, { dataset: 'courses', fields: ['college'], rowFilter: {} })
  t.match(filed, { status: 'approved', workflow: 'rule', awaiting: ['commitment'], reviewDueAt: null, personCount: null })
  t.match(filed.reviews, [{ party: 'rule', decision: 'approve' }])
  t.equal((await review(h, filed.id, 'office')).statusCode, 409, 'nothing to review')
  const active = (await commit(h, filed.id)).json()
  t.equal(active.status, 'active')

  // an export leaves the platform: the office consents first (R7.9)
  const exporting = await file(h, { dataset: 'courses', fields: ['college'], rowFilter: {}, accessModes: ['api', 'export'] })
  t.match(exporting, { status: 'pending_review', workflow: 'office', awaiting: ['office', 'commitment'] })
})

t.test('not-shareable data is refused at once, with the reason stated', async (t) => {
  const h = await setup(t)
  const filed = await file(h, { dataset: 'secrets' })
  t.match(filed, { status: 'rejected', workflow: 'none', awaiting: [] })
  t.match(filed.decisionReason, /not shareable/)
  t.match(filed.reviews, [{ party: 'rule', decision: 'reject' }])
  t.equal((await commit(h, filed.id)).statusCode, 409, 'no commitment for a rejected request')
})

t.test('bad requests are 400 naming the field, and change nothing', async (t) => {
  const h = await setup(t)
  await insertDataset(h, { code: 'pupils', producer_unit: 'CS', children_pi: true, sensitive_pi: true, grade: 'important', personnel_basic: false })
  await addPurpose(h, 'retired_one')
  await h.as('security_admin', { method: 'PATCH', url: '/api/v1/purposes/retired_one', payload: { retired: true } })
  const cases: [Record<string, unknown>, string][] = [
    [{ fields: ['student_id', 'salary'] }, 'fields.1'],
    [{ rowFilter: { salary: 1 } }, 'rowFilter.salary'],
    [{ rowFilter: { year: { like: '20%' } } }, 'rowFilter.year.like'],
    [{ rowFilter: { year: { in: ['2023'] } } }, 'rowFilter.year.in.0'],
    [{ rowFilter: { year: [2023] } }, 'rowFilter.year'],
    [{ rowFilter: { active: { gt: true } } }, 'rowFilter.active.gt'],
    [{ dataset: 'nope' }, 'dataset'],
    [{ validFrom: day(10), validUntil: day(5) }, 'validUntil'],
    [{ validFrom: day(-20), validUntil: day(-1) }, 'validUntil'],
    [{ validUntil: day(2000) }, 'validUntil'],
    [{ thirdParty: true }, 'thirdPartyName'],
    [{ dataset: 'pupils', thirdParty: true, thirdPartyName: 'Analytics Ltd' }, 'thirdParty'],
    [{ dataset: 'pupils' }, 'purposeCode'],
    [{ consentBased: true }, 'purposeCode'],
    [{ consentBased: true, purposeCode: 'no_such_purpose' }, 'purposeCode'],
    [{ purposeCode: 'retired_one' }, 'purposeCode'],
    [{ purposeCode: 'Not A Code' }, 'purposeCode'],
    [{ consents: ['00000000-0000-4000-8000-000000000000'] }, 'consents'],
    [{ accessModes: ['ftp'] }, 'accessModes.0'],
    [{ dailyRowQuota: 0 }, 'dailyRowQuota'],
    [{ purpose: '' }, 'purpose'],
    [{ sql: 'select 1' }, 'sql']
  ]
  for (const [overrides, field] of cases) {
    const res = await call(h, 'consumer', MATH, 'POST', '/api/v1/share-requests', requestBody(overrides))
    t.equal(res.statusCode, 400, `${JSON.stringify(overrides)}: ${res.body}`)
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `names ${field}: ${res.body}`)
  }
  const own = await call(h, 'steward', CS_STEWARD, 'POST', '/api/v1/share-requests', requestBody())
  t.equal(own.statusCode, 400, 'a unit does not ask for its own data')
  t.match(own.json().errors, [{ field: 'dataset' }])
  t.equal(await countRequests(h), 0, 'nothing was filed')
})

t.test('a request resting on consent names its purpose; its grant carries both, and children\'s data always rests on consent', async (t) => {
  const h = await setup(t)
  await insertDataset(h, { code: 'pupils', producer_unit: 'CS', children_pi: true, personnel_basic: true })
  await addPurpose(h, 'school_health')
  const filed = await file(h, { dataset: 'pupils', purposeCode: 'school_health' })
  t.match(filed, { consentBased: false, purposeCode: 'school_health' })
  t.notOk('consents' in filed, 'a request lists no consents: the rows carry them')
  await review(h, filed.id, 'office')
  const active = (await commit(h, filed.id)).json()
  const grant = (await call(h, 'consumer', MATH, 'GET', `/api/v1/grants/${active.grant}`)).json()
  t.match(grant, { childrenData: true, consentBased: true, purposeCode: 'school_health', status: 'active' }, 'children\'s data: the grant rests on consent')

  const said = await file(h, { dataset: 'grades', consentBased: true, purposeCode: 'school_health' })
  t.match(said, { consentBased: true, purposeCode: 'school_health' })
  const plain = await file(h, { dataset: 'grades' })
  t.match(plain, { consentBased: false, purposeCode: null }, 'an ordinary request names no purpose')
})

t.test('reviews: roles, units, twice, reasons, expiry and what only the office records', async (t) => {
  const h = await setup(t)
  await insertDataset(h, { code: 'health', producer_unit: 'CS', sensitive_pi: true, grade: 'important', personnel_basic: false })
  const filed = await file(h)
  const url = `/api/v1/share-requests/${filed.id}/reviews`
  t.equal((await call(h, 'consumer', MATH, 'POST', url, { decision: 'approve' })).statusCode, 403, 'consumers do not review')
  t.equal((await call(h, 'auditor', OFFICE, 'POST', url, { decision: 'approve' })).statusCode, 403, 'auditors do not review')
  t.equal((await call(h, 'steward', LAW_STEWARD, 'POST', url, { decision: 'approve' })).statusCode, 404, 'another unit does not see it')
  const wrongUnit = await call(h, 'steward', MATH_STEWARD, 'POST', url, { decision: 'approve' })
  t.equal(wrongUnit.statusCode, 403, 'the consumer unit\'s steward is not the producer')
  t.equal(wrongUnit.json().code, 'AUTHZ_REVIEWER_FORBIDDEN')
  t.equal((await call(h, 'steward', CS_STEWARD, 'POST', url, { decision: 'approve', party: 'office' })).statusCode, 403, 'a steward is not the office')
  const noReason = await review(h, filed.id, 'producer', { decision: 'reject' })
  t.equal(noReason.statusCode, 400)
  t.match(noReason.json().errors, [{ field: 'reason' }])
  t.equal((await review(h, filed.id, 'producer', { decision: 'approve', unmasked: true, unmaskedReason: 'x' })).statusCode, 400, 'only the office unmasks')
  t.equal((await h.database.db.selectFrom('share_request_reviews').selectAll().execute()).length, 0, 'refused reviews left nothing')
  t.equal((await review(h, filed.id, 'producer')).statusCode, 200)
  const twice = await review(h, filed.id, 'producer')
  t.equal(twice.statusCode, 409)
  t.equal(twice.json().code, 'AUTHZ_ALREADY_REVIEWED')

  // a request whose period is over cannot be approved, only rejected
  await h.database.db.updateTable('share_requests').set({ valid_from: day(-30), valid_until: day(-1) }).where('id', '=', filed.id).execute()
  t.equal((await review(h, filed.id, 'office')).statusCode, 409)
  const rejected = await review(h, filed.id, 'office', { decision: 'reject', reason: 'too late' })
  t.match(rejected.json(), { status: 'rejected', decisionReason: 'rejected by the office: too late', awaiting: [] })

  // sensitive personal information: the collective decision (R9.2); unmasked: a reason, never for a third party
  await addPurpose(h, 'clinic')
  const sensitive = await file(h, { dataset: 'health', fields: ['student_id'], rowFilter: {}, purposeCode: 'clinic' })
  await review(h, sensitive.id, 'producer')
  const noDecision = await review(h, sensitive.id, 'office')
  t.equal(noDecision.statusCode, 400)
  t.match(noDecision.json().errors, [{ field: 'collectiveDecision' }])
  const noWhy = await review(h, sensitive.id, 'office', { decision: 'approve', collectiveDecision: 'party committee 2026-11', unmasked: true })
  t.match(noWhy.json().errors, [{ field: 'unmaskedReason' }])
  const unmasked = await review(h, sensitive.id, 'office', { decision: 'approve', collectiveDecision: 'party committee 2026-11', unmasked: true, unmaskedReason: 'identity checks at the clinic' })
  t.match(unmasked.json(), { status: 'approved', masked: false, unmaskedReason: 'identity checks at the clinic' })
  t.match(unmasked.json().reviews[1], { party: 'office', collectiveDecision: 'party committee 2026-11' })

  const outsider = await file(h, { thirdParty: true, thirdPartyName: 'Analytics Ltd' })
  await review(h, outsider.id, 'producer')
  const third = await review(h, outsider.id, 'office', { decision: 'approve', unmasked: true, unmaskedReason: 'x' })
  t.equal(third.statusCode, 400)
  t.match(third.json().errors, [{ field: 'unmasked' }])
})

t.test('200,000 persons or more need the authority\'s approval, even for unconditional data', async (t) => {
  const h = await setup(t, { PI_EXTERNAL_APPROVAL_PERSONS: '2' })
  await insertDataset(h, { code: 'alumni', producer_unit: 'CS', share_attribute: 'unconditional', personnel_basic: false, holds_pi: true })
  for (const [key, college] of [['2020000001', 'CS'], ['2020000002', 'CS'], ['2020000003', 'LAW']] as const) {
    await h.database.db.insertInto('records').values({
      dataset_code: 'alumni', record_key: key, data: JSON.stringify({ student_id: key, college }), person_key: key, batch_id: '00000000-0000-4000-8000-0000000000b1', source_unit: 'CS', source_sub: 'fixture', source_client: null
    }).execute()
  }
  const few = await file(h, { dataset: 'alumni', rowFilter: { college: 'LAW' } })
  t.match(few, { personCount: 1, workflow: 'rule', status: 'approved' })
  const many = await file(h, { dataset: 'alumni', rowFilter: { college: 'CS' } })
  t.match(many, { personCount: 2, workflow: 'office', status: 'pending_review' })
  const missing = await review(h, many.id, 'office')
  t.equal(missing.statusCode, 400)
  t.match(missing.json().errors, [{ field: 'externalApproval' }])
  const approved = await review(h, many.id, 'office', { decision: 'approve', externalApproval: 'provincial CAC 2026-118' })
  t.match(approved.json().reviews[0], { externalApproval: 'provincial CAC 2026-118' })
})

t.test('a filter on a sealed PI field counts its persons through the blind index, and takes equality only', async (t) => {
  const h = await setup(t, { PI_EXTERNAL_APPROVAL_PERSONS: '2' })
  await insertDataset(h, { code: 'roster', producer_unit: 'CS', share_attribute: 'unconditional', personnel_basic: false, fields: STUDENT_FIELDS.filter((f) => f.name !== 'id_number') })
  await seedStudents(h, 6, 'roster')
  const stored = await h.database.db.selectFrom('records').select('data').where('dataset_code', '=', 'roster').where('record_key', '=', '2026000001').executeTakeFirstOrThrow()
  t.not((stored.data as { phone: string }).phone, studentRow(1).phone, 'the phone is stored sealed')
  const few = await file(h, { dataset: 'roster', fields: ['student_id'], rowFilter: { phone: studentRow(1).phone } })
  t.match(few, { personCount: 1, workflow: 'rule', status: 'approved' }, 'one person: by rule')
  const many = await file(h, { dataset: 'roster', fields: ['student_id'], rowFilter: { phone: { in: [studentRow(2).phone, studentRow(3).phone] } } })
  t.match(many, { personCount: 2, workflow: 'office', status: 'pending_review' }, 'two persons reach the threshold: the office decides')
  const before = await countRequests(h)
  const range = await call(h, 'consumer', MATH, 'POST', '/api/v1/share-requests', requestBody({ dataset: 'roster', fields: ['student_id'], rowFilter: { phone: { gte: '138' } } }))
  t.equal(range.statusCode, 400, 'a range on a sealed field would select nothing')
  t.match(range.json().errors, [{ field: 'rowFilter.phone' }])
  t.equal(await countRequests(h), before, 'nothing filed')
})

t.test('agreements: only the parties sign, each once, for the side they represent', async (t) => {
  const h = await setup(t)
  const filed = await file(h)
  await review(h, filed.id, 'producer')
  const { agreement } = (await review(h, filed.id, 'office')).json()
  const url = `/api/v1/agreements/${agreement}/signatures`
  t.equal((await call(h, 'consumer', MATH, 'POST', url, { party: 'producer' })).statusCode, 403, 'the consumer does not sign for the producer')
  t.equal((await call(h, 'steward', CS_STEWARD, 'POST', url, { party: 'office' })).statusCode, 403, 'a steward does not sign for the office')
  t.equal((await call(h, 'consumer', LAW, 'POST', url, { party: 'consumer' })).statusCode, 404, 'a bystander does not see it')
  t.equal((await call(h, 'consumer', LAW, 'GET', `/api/v1/agreements/${agreement}`)).statusCode, 404)
  t.equal((await call(h, 'auditor', OFFICE, 'GET', `/api/v1/agreements/${agreement}`)).statusCode, 200, 'auditors read it')
  t.equal((await call(h, 'consumer', MATH, 'POST', url, { party: 'witness' })).statusCode, 400)
  t.equal((await sign(h, agreement, 'consumer')).statusCode, 200)
  t.equal((await sign(h, agreement, 'consumer')).statusCode, 409, 'twice')
  t.equal((await h.database.db.selectFrom('agreement_signatures').selectAll().execute()).length, 1)
  t.equal((await call(h, 'consumer', MATH, 'GET', '/api/v1/agreements/00000000-0000-4000-8000-000000000000')).statusCode, 404)
})

t.test('commitment and withdrawal belong to the consumer unit', async (t) => {
  const h = await setup(t)
  const filed = await file(h)
  const byProducer = await call(h, 'steward', CS_STEWARD, 'POST', `/api/v1/share-requests/${filed.id}/commitment`, { accept: true })
  t.equal(byProducer.statusCode, 403, 'the producer cannot sign the consumer\'s commitment')
  t.equal((await call(h, 'consumer', MATH, 'POST', `/api/v1/share-requests/${filed.id}/commitment`, { accept: false })).statusCode, 400)
  t.equal((await commit(h, filed.id, LAW)).statusCode, 404)
  t.equal((await commit(h, filed.id)).statusCode, 200)
  t.equal((await commit(h, filed.id)).statusCode, 409, 'signed once')
  const producer = await call(h, 'steward', CS_STEWARD, 'POST', `/api/v1/share-requests/${filed.id}/withdrawal`, { reason: 'no' })
  t.equal(producer.statusCode, 403)
  await review(h, filed.id, 'producer')
  const { agreement } = (await review(h, filed.id, 'office')).json()
  const withdrawn = await call(h, 'consumer', MATH, 'POST', `/api/v1/share-requests/${filed.id}/withdrawal`, { reason: 'project cancelled' })
  t.match(withdrawn.json(), { status: 'withdrawn', decisionReason: 'withdrawn by the consumer: project cancelled', agreement: null })
  t.equal((await call(h, 'consumer', MATH, 'GET', `/api/v1/agreements/${agreement}`)).json().status, 'void', 'its agreement is void')
  t.equal((await sign(h, agreement, 'office')).statusCode, 409)
  const active = await grantFor(h)
  t.equal((await call(h, 'consumer', MATH, 'POST', `/api/v1/share-requests/${active.id}/withdrawal`, { reason: 'x' })).statusCode, 409, 'an active request is revoked, not withdrawn')
})

t.test('units see their own requests and grants; others get 404', async (t) => {
  const h = await setup(t)
  const active = await grantFor(h)
  const lawFiled = await file(h, { dataset: 'students', fields: ['student_id'] }, LAW)
  const ids = (res: { json: () => { data: { id: string }[] } }) => res.json().data.map((r) => r.id)
  t.same(ids(await call(h, 'consumer', MATH, 'GET', '/api/v1/share-requests')), [active.id])
  t.same(ids(await call(h, 'consumer', LAW, 'GET', '/api/v1/share-requests')), [lawFiled.id])
  t.same(ids(await call(h, 'steward', CS_STEWARD, 'GET', '/api/v1/share-requests')), [lawFiled.id, active.id], 'the producer sees requests for its data')
  t.same(ids(await call(h, 'steward', CS_STEWARD, 'GET', '/api/v1/share-requests?role=consumer')), [], 'and filed none itself')
  t.same(ids(await call(h, 'auditor', OFFICE, 'GET', '/api/v1/share-requests?dataset=students')), [lawFiled.id])
  t.equal((await call(h, 'consumer', LAW, 'GET', `/api/v1/share-requests/${active.id}`)).statusCode, 404)
  t.equal((await call(h, 'consumer', LAW, 'GET', `/api/v1/grants/${active.grant}`)).statusCode, 404)
  t.same(ids(await call(h, 'consumer', LAW, 'GET', '/api/v1/grants')), [])
  t.same(ids(await call(h, 'consumer', MATH, 'GET', '/api/v1/grants')), [active.grant])
  t.same(ids(await call(h, 'steward', CS_STEWARD, 'GET', '/api/v1/grants?dataset=grades')), [active.grant])
  t.equal((await call(h, 'steward', LAW_STEWARD, 'POST', `/api/v1/grants/${active.grant}/revoke`, { reason: 'x' })).statusCode, 404)
  t.equal((await call(h, 'system_admin', OFFICE, 'GET', '/api/v1/grants')).statusCode, 403, 'administrators do not read grants')

  // pages
  for (let i = 0; i < 3; i++) await file(h, { dataset: 'students', fields: ['student_id'] })
  const first = (await call(h, 'consumer', MATH, 'GET', '/api/v1/share-requests?limit=2')).json()
  t.equal(first.data.length, 2)
  const second = (await call(h, 'consumer', MATH, 'GET', `/api/v1/share-requests?limit=2&cursor=${first.nextCursor}`)).json()
  t.equal(second.data.length, 2)
  t.equal(second.nextCursor, null)
  t.equal(second.data[1].id, active.id, 'newest first, oldest last')
  t.equal((await call(h, 'consumer', MATH, 'GET', '/api/v1/share-requests?cursor=bm9wZQ')).statusCode, 400)
})

t.test('grants expire on their end date', async (t) => {
  const h = await setup(t)
  const active = await grantFor(h)
  await h.database.db.updateTable('grants').set({ valid_from: day(-30), valid_until: day(-1) }).where('id', '=', active.grant).execute()
  t.equal((await call(h, 'consumer', MATH, 'GET', `/api/v1/grants/${active.grant}`)).json().status, 'expired')
  t.equal((await call(h, 'consumer', MATH, 'GET', '/api/v1/grants?status=expired')).json().data.length, 1)
  t.equal((await call(h, 'consumer', MATH, 'GET', '/api/v1/grants?status=active')).json().data.length, 0)
})

t.test('overdue reviews are listed and reported to the audit log once', async (t) => {
  const h = await setup(t)
  const late = await file(h)
  const onTime = await file(h)
  await review(h, late.id, 'producer')
  await h.database.db.updateTable('share_requests').set({ review_due_at: new Date(Date.now() - 60_000) }).where('id', '=', late.id).execute()
  const listed = (await call(h, 'security_admin', OFFICE, 'GET', '/api/v1/share-requests?overdue=true')).json()
  t.same(listed.data.map((r: { id: string }) => r.id), [late.id])
  t.equal(listed.data[0].overdue, true)
  t.same((await call(h, 'security_admin', OFFICE, 'GET', '/api/v1/share-requests?overdue=false')).json().data.map((r: { id: string }) => r.id), [onTime.id])
  t.same(await reportOverdueReviews(h.database.db), [late.id])
  t.same(await reportOverdueReviews(h.database.db), [], 'reported once')
  const events = await eventsOf(h.database.db, 'share_request', late.id)
  const overdue = events.find((e) => e.action === 'share_request.review_overdue')!
  t.match(overdue, { actor_sub: 'system:deadlines', actor_unit: 'office' })
  t.same(overdue.details.awaiting, ['office'])
})

t.test('a restricted important dataset shows its fields to units with a request under way', async (t) => {
  const h = await setup(t)
  await insertDataset(h, { code: 'exams', producer_unit: 'CS', grade: 'important', metadata_restricted: true, personnel_basic: false })
  const fieldsFor = async (claims: typeof MATH) => (await call(h, 'consumer', claims, 'GET', '/api/v1/datasets/exams')).json()
  t.equal((await fieldsFor(MATH)).fieldsHidden, true)
  await file(h, { dataset: 'exams' })
  t.equal((await fieldsFor(MATH)).fieldsHidden, false, 'a pending request gives a stake')
  t.equal((await fieldsFor(LAW)).fieldsHidden, true, 'others still do not see them')
})

t.test('review deadlines follow the campus calendar: holidays skipped, make-up workdays counted', async (t) => {
  // National Day 2026: 1–7 October off, Saturday 10 October worked instead
  const calendar = campusCalendar({ CAMPUS_HOLIDAYS: '2026-10-01,2026-10-02,2026-10-05,2026-10-06,2026-10-07', CAMPUS_WORKDAYS: '2026-10-10' })
  const filed = new Date('2026-09-30T02:00:00Z') // Wednesday 10:00 campus time
  t.equal(addWorkingDays(filed, 5).toISOString(), '2026-10-07T02:00:00.000Z', 'weekends alone')
  t.equal(addWorkingDays(filed, 5, calendar).toISOString(), '2026-10-13T02:00:00.000Z', '8, 9, 10 (worked Saturday), 12, 13 October')
  t.equal(addWorkingDays(new Date('2026-10-09T15:30:00Z'), 1, calendar).toISOString(), '2026-10-10T15:30:00.000Z', 'filed Friday 23:30 campus time: the worked Saturday is the next working day')
  t.equal(addWorkingDays(new Date('2026-10-09T16:30:00Z'), 1, calendar).toISOString(), '2026-10-11T16:30:00.000Z', 'filed Saturday 00:30 campus time (still Friday in UTC): Monday 00:30 campus time')

  const holidays = Array.from({ length: 12 }, (_, i) => day(i + 1)).join(',')
  const h = await setup(t, { CAMPUS_HOLIDAYS: holidays })
  const req = await file(h)
  t.ok(Date.parse(req.reviewDueAt) > Date.now() + 12 * 86_400_000, 'the configured holidays push the deadline past them')
})
