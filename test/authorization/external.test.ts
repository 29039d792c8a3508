import t from 'tap'
import { reportOverdueReviews } from '../../src/authorization/share-requests/overdue.js'
import { eventsOf } from '../../src/platform/events.js'
import { build, type TestApp } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'
import { call, commit, CS_STEWARD, file, MATH, OFFICE, requestBody, review, sharingSetup, sign } from '../helpers/sharing.js'

// Third parties and data provided outside the university (001 §42, §58; R7.6, R9.3): one app for the file.
const LEAD = { unit: 'LEAD', sub: 'leader-li' }
const RECIPIENT = { name: 'Provincial Education Department', kind: 'government' }
const h: TestApp = await build(t)
await sharingSetup(h)
await insertDataset(h, { code: 'pupils', producer_unit: 'CS', children_pi: true, personnel_basic: false })

const countRequests = async () => Number((await h.database.db.selectFrom('share_requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
const reviewsUrl = (id: string) => `/api/v1/share-requests/${id}/reviews`
const lead = async (id: string, body: object = { decision: 'approve', party: 'leadership' }) => await call(h, 'leadership', LEAD, 'POST', reviewsUrl(id), body)
const courses = { dataset: 'courses', fields: ['student_id', 'college'], rowFilter: {} }

t.test('a third party on unconditional data goes to the office, and its grant is masked', async (t) => {
  const filed = await file(h, { ...courses, thirdParty: true, thirdPartyName: 'Analytics Ltd' })
  t.match(filed, { status: 'pending_review', workflow: 'office', awaiting: ['office', 'commitment'], thirdParty: true, thirdPartyName: 'Analytics Ltd', external: false, recipient: null })
  t.same(filed.reviews, [], 'no rule approved it')
  t.ok(filed.reviewDueAt, 'the office has a deadline')
  t.equal((await review(h, filed.id, 'producer')).statusCode, 403, 'the office alone reviews it')
  const approved = (await review(h, filed.id, 'office')).json()
  t.match(approved, { status: 'approved', awaiting: ['commitment'], masked: true })
  t.match(approved.commitment, null)
  const active = (await commit(h, filed.id)).json()
  t.match(active.commitment.text, /Third-party analysis: yes \(Analytics Ltd\), masked data only/)
  t.match((await call(h, 'consumer', MATH, 'GET', `/api/v1/grants/${active.grant}`)).json(), { masked: true, thirdParty: true, status: 'active' })

  const conditional = await file(h, { thirdParty: true, thirdPartyName: 'Analytics Ltd' })
  t.match(conditional, { workflow: 'producer_office', awaiting: ['producer', 'office', 'commitment', 'agreement'] }, 'conditional data: producer and office, as before')
})

t.test('external: the producer, then the office, then the leading group, each a different person', async (t) => {
  const filed = await file(h, { external: true, recipient: RECIPIENT, purpose: 'statistics report to the province' })
  t.match(filed, {
    status: 'pending_review',
    workflow: 'producer_office_leadership',
    external: true,
    recipient: RECIPIENT,
    renews: null,
    awaiting: ['producer', 'office', 'leadership', 'commitment', 'agreement']
  })
  const id = filed.id as string

  // out of turn: 409 naming who reviews first
  const leaderFirst = await lead(id)
  t.equal(leaderFirst.statusCode, 409)
  t.match(leaderFirst.json(), { code: 'AUTHZ_REVIEW_OUT_OF_ORDER', detail: /the producer reviews first/ })
  const officeFirst = await review(h, id, 'office')
  t.equal(officeFirst.statusCode, 409)
  t.match(officeFirst.json().detail, /the producer reviews first/)
  // the wrong people
  t.equal((await call(h, 'consumer', MATH, 'POST', reviewsUrl(id), { decision: 'approve', party: 'leadership' })).statusCode, 403, 'a consumer is not the leading group')
  const stewardAsLead = await call(h, 'steward', CS_STEWARD, 'POST', reviewsUrl(id), { decision: 'approve', party: 'leadership' })
  t.equal(stewardAsLead.statusCode, 403, 'a steward is not the leading group')
  t.match(stewardAsLead.json(), { code: 'AUTHZ_REVIEWER_FORBIDDEN', detail: /leading group/ })
  const leadAsOffice = await lead(id, { decision: 'approve', party: 'office' })
  t.equal(leadAsOffice.statusCode, 403, 'the leading group is not the office')
  t.match(leadAsOffice.json().detail, /security_admin/)
  t.same((await h.database.db.selectFrom('share_request_reviews').select('id').where('share_request_id', '=', id).execute()), [], 'refused reviews left nothing')

  t.match((await review(h, id, 'producer')).json(), { status: 'pending_review', awaiting: ['office', 'leadership', 'commitment', 'agreement'] })
  t.match((await lead(id)).json(), { code: 'AUTHZ_REVIEW_OUT_OF_ORDER', detail: /the office reviews first/ })
  t.match((await review(h, id, 'office')).json(), { status: 'pending_review', awaiting: ['leadership', 'commitment', 'agreement'], agreement: null })
  // the office's reviewer cannot give the leading group's review too
  const twice = await call(h, ['security_admin', 'leadership'], OFFICE, 'POST', reviewsUrl(id), { decision: 'approve', party: 'leadership' })
  t.equal(twice.statusCode, 403)
  t.match(twice.json().detail, /already reviewed this request as the office/)
  t.equal((await lead(id, { decision: 'approve', party: 'leadership', collectiveDecision: 'x' })).statusCode, 400, 'only the office records a collective decision')

  // the leading group sees the request (and no other unit's ordinary one)
  t.equal((await call(h, 'leadership', LEAD, 'GET', `/api/v1/share-requests/${id}`)).statusCode, 200)
  t.same((await call(h, 'leadership', LEAD, 'GET', '/api/v1/share-requests?external=true')).json().data.map((r: { id: string }) => r.id), [id])
  const ordinary = await file(h)
  t.equal((await call(h, 'leadership', LEAD, 'GET', `/api/v1/share-requests/${ordinary.id as string}`)).statusCode, 404)
  t.equal((await lead(ordinary.id)).statusCode, 404)

  const approved = (await lead(id, { decision: 'approve', party: 'leadership', reason: 'security and confidentiality review passed' })).json()
  t.match(approved, { status: 'approved', awaiting: ['commitment', 'agreement'] })
  t.same(approved.reviews.map((r: { party: string, reviewer: string }) => [r.party, r.reviewer]), [['producer', 'cs-steward'], ['office', 'office-wang'], ['leadership', 'leader-li']])
  const agreement = (await call(h, 'consumer', MATH, 'GET', `/api/v1/agreements/${approved.agreement as string}`)).json()
  t.match(agreement.content, /Provided outside the university \(对外提供\): yes, to Provincial Education Department \(government\)/)
  const committed = (await commit(h, id)).json()
  t.match(committed.commitment.text, /Provided outside the university \(对外提供\): yes, to Provincial Education Department \(government\)/)
  for (const party of ['consumer', 'producer', 'office'] as const) await sign(h, approved.agreement, party)
  const active = (await call(h, 'consumer', MATH, 'GET', `/api/v1/share-requests/${id}`)).json()
  t.match(active, { status: 'active', awaiting: [] })
  t.ok(active.grant)
  const events = await eventsOf(h.database.db, 'share_request', id)
  t.same(events.map((e) => [e.action, e.details.party ?? null]), [
    ['share_request.create', null], ['share_request.approve', 'producer'], ['share_request.approve', 'office'], ['share_request.approve', 'leadership'], ['share_request.commit', null]
  ])
  t.match(events[0]!.details, { external: true, recipientKind: 'government' })
  t.notOk(JSON.stringify(events[0]!.details).includes(RECIPIENT.name), 'no recipient name in the audit chain')
})

t.test('external on each kind of dataset; the leading group rejects with a reason', async (t) => {
  const open = await file(h, { ...courses, external: true, recipient: { name: 'Peking University', kind: 'university' } })
  t.match(open, { workflow: 'producer_office_leadership', awaiting: ['producer', 'office', 'leadership', 'commitment'] }, 'unconditional: no agreement')
  const basic = await file(h, { dataset: 'students', fields: ['student_id'], rowFilter: {}, external: true, recipient: RECIPIENT })
  t.match(basic, { workflow: 'producer_office_leadership', awaiting: ['producer', 'office', 'leadership', 'commitment', 'agreement'] }, 'basic personnel data leaving the university needs all three and the agreement')
  await review(h, basic.id, 'producer')
  await review(h, basic.id, 'office')
  await h.database.db.updateTable('share_requests').set({ review_due_at: new Date(Date.now() - 60_000) }).where('id', '=', basic.id).execute()
  t.same(await reportOverdueReviews(h.database.db), [basic.id])
  t.match((await eventsOf(h.database.db, 'share_request', basic.id)).at(-1), {
    action: 'share_request.review_overdue', actor_unit: 'leadership', details: { awaiting: ['leadership'] }
  }, 'a late leading group is reported as such')
  const none = await file(h, { dataset: 'secrets', external: true, recipient: RECIPIENT })
  t.match(none, { status: 'rejected', workflow: 'none', awaiting: [] }, 'not shareable stays refused at once')

  const earlyNo = await review(h, open.id, 'office', { decision: 'reject', reason: 'no' })
  t.equal(earlyNo.statusCode, 409, 'a rejection waits its turn too')
  t.equal(earlyNo.json().code, 'AUTHZ_REVIEW_OUT_OF_ORDER')
  await review(h, open.id, 'producer')
  await review(h, open.id, 'office')
  const noReason = await lead(open.id, { decision: 'reject', party: 'leadership' })
  t.equal(noReason.statusCode, 400)
  t.match(noReason.json().errors, [{ field: 'reason' }])
  const rejected = await lead(open.id, { decision: 'reject', reason: 'the recipient has no legal basis' })
  t.match(rejected.json(), { status: 'rejected', decisionReason: 'rejected by the leadership: the recipient has no legal basis', awaiting: [] })
})

t.test('bad external requests are 400 naming the field, and change nothing', async (t) => {
  const before = await countRequests()
  const cases: [Record<string, unknown>, string][] = [
    [{ external: true }, 'recipient'],
    [{ recipient: RECIPIENT }, 'recipient'],
    [{ external: false, recipient: RECIPIENT }, 'recipient'],
    [{ external: true, recipient: { name: 'X', kind: 'alien' } }, 'recipient.kind'],
    [{ external: true, recipient: { name: '', kind: 'other' } }, 'recipient.name'],
    [{ dataset: 'pupils', external: true, recipient: RECIPIENT }, 'external']
  ]
  for (const [overrides, field] of cases) {
    const res = await call(h, 'consumer', MATH, 'POST', '/api/v1/share-requests', requestBody(overrides))
    t.equal(res.statusCode, 400, `${JSON.stringify(overrides)}: ${res.body}`)
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `names ${field}: ${res.body}`)
  }
  t.equal(await countRequests(), before, 'nothing was filed')
})
