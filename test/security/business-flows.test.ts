// API6 (OWASP API Security Top 10, 2023), unrestricted access to sensitive business flows: the
// sharing and destruction workflows refuse the shortcuts a caller holding several roles could take
// (approving its own request, one person giving two reviews or two signatures, its own unit on both
// sides, a destruction approved, witnessed or executed by those who took part before), and each
// refusal changes nothing.
import t from 'tap'
import type { Role } from '../../src/platform/auth/roles.js'
import { build, type TestApp } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'
import { call, CS_STEWARD, file, MATH, MATH_STEWARD, OFFICE, requestBody, review, sharingSetup } from '../helpers/sharing.js'

type Claims = { unit: string, sub: string }
/** One person of MATH who is both a consumer and in the office: files, then tries to approve. */
const MATH_OFFICER = { unit: 'MATH', sub: 'math-officer' }
const MATH_OFFICER_ROLES: Role[] = ['consumer', 'security_admin']
/** One person of CS who is a steward and in the office (and a supervisor): could be every reviewer. */
const CS_DUAL = { unit: 'CS', sub: 'cs-dual' }
const CS_DUAL_ROLES: Role[] = ['steward', 'security_admin', 'supervisor']
const OFFICE_SUPERVISOR = { unit: 'OFFICE', sub: 'office-wang' }
const SUPERVISOR = { unit: 'OFFICE', sub: 'supervisor-zhou' }
const EXECUTOR = { unit: 'OFFICE', sub: 'office-li' }

const h = await build(t)
await sharingSetup(h)
await insertDataset(h, { code: 'old', subject: 'old', producer_unit: 'CS' })

const reviewsOf = async (h: TestApp, id: string) =>
  (await h.database.db.selectFrom('share_request_reviews').select(['party', 'reviewer_sub']).where('share_request_id', '=', id).execute()).length
const statusOf = async (h: TestApp, id: string) =>
  (await h.database.db.selectFrom('share_requests').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status

t.test('the requester does not approve its own request, whatever roles it holds', async (t) => {
  // `students` is basic personnel data: the office alone reviews it
  const filed = await file(h, { dataset: 'students', fields: ['student_id', 'college'], purpose: 'self-approval attempt' }, MATH_OFFICER)
  t.equal(filed.status, 'pending_review')
  const self = await h.as(MATH_OFFICER_ROLES, { method: 'POST', url: `/api/v1/share-requests/${filed.id as string}/reviews`, payload: { decision: 'approve' } }, MATH_OFFICER)
  t.equal(self.statusCode, 403, self.body)
  t.equal(self.json().code, 'AUTHZ_REVIEWER_FORBIDDEN')
  t.equal(await reviewsOf(h, filed.id), 0, 'no review recorded')
  t.equal(await statusOf(h, filed.id), 'pending_review')
  // another person of the office may
  const other = await review(h, filed.id, 'office')
  t.equal(other.statusCode, 200, other.body)
  t.equal(other.json().status, 'approved')
})

t.test('one reviewer reviews once, and one person never gives both reviews', async (t) => {
  const filed = await file(h, { purpose: 'double review attempt' })
  t.equal((await review(h, filed.id, 'office')).statusCode, 200)
  const again = await review(h, filed.id, 'office')
  t.equal(again.statusCode, 409, 'the office twice')
  t.equal(again.json().code, 'AUTHZ_ALREADY_REVIEWED')

  const second = await file(h, { purpose: 'one person, two parties' })
  const url = `/api/v1/share-requests/${second.id as string}/reviews`
  const asProducer = await h.as(CS_DUAL_ROLES, { method: 'POST', url, payload: { decision: 'approve', party: 'producer' } }, CS_DUAL)
  t.equal(asProducer.statusCode, 200, asProducer.body)
  const asOffice = await h.as(CS_DUAL_ROLES, { method: 'POST', url, payload: { decision: 'approve', party: 'office' } }, CS_DUAL)
  t.equal(asOffice.statusCode, 403, `the same person as the office: ${asOffice.body}`)
  t.equal(asOffice.json().code, 'AUTHZ_REVIEWER_FORBIDDEN')
  t.equal(await reviewsOf(h, second.id), 1)
  t.equal(await statusOf(h, second.id), 'pending_review', 'still waiting for the office')
  t.equal((await review(h, second.id, 'office')).json().status, 'approved', 'a second person completes it')
})

t.test('a unit does not ask for, nor approve, its own data', async (t) => {
  for (const [role, claims] of [['steward', CS_STEWARD], ['consumer', { unit: 'CS', sub: 'cs-clerk' }], [CS_DUAL_ROLES, CS_DUAL]] as [Role | Role[], Claims][]) {
    const res = await call(h, role, claims, 'POST', '/api/v1/share-requests', requestBody())
    t.equal(res.statusCode, 400, `${JSON.stringify(role)} of the producer unit: ${res.body}`)
    t.match(res.json().errors, [{ field: 'dataset' }])
  }
  const filed = await file(h, { purpose: 'the consumer\'s steward is not the producer' })
  const consumerSide = await call(h, 'steward', MATH_STEWARD, 'POST', `/api/v1/share-requests/${filed.id as string}/reviews`, { decision: 'approve', party: 'producer' })
  t.equal(consumerSide.statusCode, 403, 'the consumer unit cannot review as the producer')
  t.equal(await reviewsOf(h, filed.id), 0)
})

t.test('an agreement is signed by each party, through its own person, once', async (t) => {
  const filed = await file(h, { purpose: 'agreement signatures' })
  await review(h, filed.id, 'producer')
  const agreement = (await review(h, filed.id, 'office')).json().agreement as string
  const url = `/api/v1/agreements/${agreement}/signatures`
  const signatures = async () => (await h.database.db.selectFrom('agreement_signatures').select('party').where('agreement_id', '=', agreement).execute()).length
  const refusals: [Role | Role[], Claims, string, string][] = [
    ['consumer', MATH, 'producer', 'the consumer as the producer'],
    ['consumer', MATH, 'office', 'the consumer as the office'],
    ['steward', MATH_STEWARD, 'producer', 'the consumer unit\'s steward as the producer'],
    ['steward', CS_STEWARD, 'consumer', 'the producer as the consumer'],
    ['steward', CS_STEWARD, 'office', 'the producer as the office'],
    ['security_admin', OFFICE, 'producer', 'the office as the producer']
  ]
  for (const [role, claims, party, label] of refusals) {
    const res = await call(h, role, claims, 'POST', url, { party })
    t.equal(res.statusCode, 403, `${label}: ${res.body}`)
    t.equal(res.json().code, 'AUTHZ_PARTY_FORBIDDEN')
  }
  t.equal(await signatures(), 0, 'refusals signed nothing')
  t.equal((await call(h, 'consumer', MATH, 'POST', url, { party: 'consumer' })).statusCode, 200)
  t.equal((await call(h, 'consumer', MATH, 'POST', url, { party: 'consumer' })).statusCode, 409, 'a party signs once')
  t.equal((await call(h, CS_DUAL_ROLES, CS_DUAL, 'POST', url, { party: 'producer' })).statusCode, 200)
  const twoHats = await call(h, CS_DUAL_ROLES, CS_DUAL, 'POST', url, { party: 'office' })
  t.equal(twoHats.statusCode, 403, `the producer's signer as the office too: ${twoHats.body}`)
  t.equal(twoHats.json().code, 'AUTHZ_PARTY_FORBIDDEN')
  t.equal(await signatures(), 2)
  const byOffice = await call(h, 'security_admin', OFFICE, 'POST', url, { party: 'office' })
  t.equal(byOffice.statusCode, 200, byOffice.body)
  t.equal(byOffice.json().status, 'signed')
})

t.test('the usage commitment and withdrawal belong to the consumer unit', async (t) => {
  const filed = await file(h, { purpose: 'commitment' })
  const byProducer = await call(h, 'steward', CS_STEWARD, 'POST', `/api/v1/share-requests/${filed.id as string}/commitment`, { accept: true })
  t.equal(byProducer.statusCode, 403)
  t.equal(byProducer.json().code, 'AUTHZ_NOT_CONSUMER')
  const withdrawal = await call(h, 'steward', CS_STEWARD, 'POST', `/api/v1/share-requests/${filed.id as string}/withdrawal`, { reason: 'not theirs' })
  t.equal(withdrawal.statusCode, 403)
  t.equal(await statusOf(h, filed.id), 'pending_review')
})

t.test('a destruction is approved by two people, witnessed by a third, executed by another', async (t) => {
  const post = async (role: Role | Role[], url: string, payload: object, claims: Claims) =>
    await h.as(role, { method: 'POST', url: `/api/v1/destructions${url}`, payload }, claims)
  const proposed = await post(CS_DUAL_ROLES, '', { dataset: 'old', scope: 'all', reason: 'end of retention' }, CS_DUAL)
  t.equal(proposed.statusCode, 201, proposed.body)
  const id = proposed.json().id as string
  const statusOfD = async () => (await h.database.db.selectFrom('destructions').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status

  const ownReview = await post(CS_DUAL_ROLES, `/${id}/reviews`, { decision: 'approve', party: 'producer' }, CS_DUAL)
  t.equal(ownReview.statusCode, 403, `the proposer does not review for its unit: ${ownReview.body}`)
  const ownApproval = await post(CS_DUAL_ROLES, `/${id}/reviews`, { decision: 'approve', party: 'office' }, CS_DUAL)
  t.equal(ownApproval.statusCode, 403, `the proposer does not approve as the office: ${ownApproval.body}`)
  t.equal(ownApproval.json().code, 'CATALOG_DESTRUCTION_FORBIDDEN')
  t.equal(await statusOfD(), 'pending_review')
  t.equal((await post(CS_DUAL_ROLES, `/${id}/reviews`, { decision: 'approve', party: 'producer' }, CS_STEWARD)).statusCode, 200, 'another steward reviews for the unit')
  const early = await post('supervisor', `/${id}/witness`, {}, SUPERVISOR)
  t.equal(early.statusCode, 409, 'nothing to witness before the approvals')

  t.equal((await post(['security_admin', 'supervisor'], `/${id}/reviews`, { decision: 'approve' }, OFFICE_SUPERVISOR)).statusCode, 200)
  const twice = await post(['security_admin', 'supervisor'], `/${id}/reviews`, { decision: 'approve' }, OFFICE_SUPERVISOR)
  t.equal(twice.statusCode, 409, 'the office reviews once')
  t.equal(await statusOfD(), 'approved')

  const byProposer = await post(CS_DUAL_ROLES, `/${id}/witness`, {}, CS_DUAL)
  t.equal(byProposer.statusCode, 403, 'the proposer does not witness')
  t.equal((await post(CS_DUAL_ROLES, `/${id}/witness`, {}, CS_STEWARD)).statusCode, 403, 'nor the producer\'s reviewer')
  const byReviewer = await post(['security_admin', 'supervisor'], `/${id}/witness`, {}, OFFICE_SUPERVISOR)
  t.equal(byReviewer.statusCode, 403, 'a reviewer does not witness')
  t.equal(await statusOfD(), 'approved')
  t.equal((await post(['supervisor', 'security_admin'], `/${id}/witness`, {}, SUPERVISOR)).statusCode, 200, 'a supervisor who took no part does')

  const byWitness = await post(['supervisor', 'security_admin'], `/${id}/execute`, { confirm: 'old' }, SUPERVISOR)
  t.equal(byWitness.statusCode, 403, 'the witness does not execute')
  t.equal((await post(CS_DUAL_ROLES, `/${id}/execute`, { confirm: 'old' }, CS_DUAL)).statusCode, 403, 'nor the proposer')
  t.equal((await post(['security_admin', 'supervisor'], `/${id}/execute`, { confirm: 'old' }, OFFICE_SUPERVISOR)).statusCode, 403, 'nor the office\'s reviewer')
  t.equal(await statusOfD(), 'witnessed')
  const executed = await post('security_admin', `/${id}/execute`, { confirm: 'old' }, EXECUTOR)
  t.equal(executed.statusCode, 200, executed.body)
  t.equal(await statusOfD(), 'executed')
})
