// The office keeps the catalog (001 §8(1), §39) and collection is stated and assessed (R3.2; 002 §19,
// 003 2(1), 001 §51, 003 3(4)): POST /api/v1/datasets/{code}/grading-review.
import t from 'tap'
import type { Role } from '../../src/platform/auth/roles.js'
import { eventsOf } from '../../src/platform/events.js'
import { build, createUnit, type TestApp } from '../helpers/build.js'
import { COLLECTION, STUDENT_FIELDS } from '../helpers/catalog.js'
import { dataFixture, MATH_READER, seedStudents } from '../helpers/data.js'
import { file, sharingSetup } from '../helpers/sharing.js'

const CS = { unit: 'CS', sub: 'steward-cs' }
const OFFICE = { unit: 'OFFICE', sub: 'office-admin' }

const register = (h: TestApp, body: object) => h.as('steward', { method: 'POST', url: '/api/v1/datasets', payload: body }, CS)
const patch = (h: TestApp, code: string, payload: object) => h.as('steward', { method: 'PATCH', url: `/api/v1/datasets/${code}`, payload }, CS)
const view = async (h: TestApp, code: string, role: Role = 'steward', claims = CS) =>
  (await h.as(role, { method: 'GET', url: `/api/v1/datasets/${code}` }, claims)).json()
const decide = (h: TestApp, code: string, payload: object, role: Role = 'security_admin') =>
  h.as(role, { method: 'POST', url: `/api/v1/datasets/${code}/grading-review`, payload }, role === 'security_admin' ? OFFICE : { unit: 'CS' })
const publish = (h: TestApp, code: string) => h.as('steward', { method: 'POST', url: `/api/v1/datasets/${code}/publish` }, CS)

/** Asserts a 400 problem naming `field`. */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

function names (t: Tap, res: Awaited<ReturnType<TestApp['as']>>, field: string, label: string) {
  t.equal(res.statusCode, 400, `${label}: ${res.body}`)
  t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
}

const studentDraft = (overrides: Record<string, unknown> = {}) => ({
  code: 'student_basic',
  name: 'Student basic information',
  subject: 'student basic information',
  category: 'student',
  shareAttribute: 'conditional',
  openAttribute: 'none',
  updateFrequency: 'daily',
  retentionDays: 3650,
  primaryKey: ['student_id'],
  personKey: 'student_id',
  fields: [
    { name: 'student_id', type: 'string', required: true, piType: 'student_id' },
    { name: 'name', type: 'string', piType: 'name' }
  ],
  ...overrides
})

t.test('the office confirms or rejects a draft\'s grading, and a draft is published only once confirmed', async (t) => {
  const h = await build(t)
  for (const unit of ['CS', 'MATH']) await createUnit(h, unit)
  const { riskAssessment: _r, ...withoutRisk } = COLLECTION
  t.equal((await register(h, studentDraft())).statusCode, 201)
  t.match(await view(h, 'student_basic'), { grading: { status: 'proposed', decidedBy: null, decidedAt: null, reason: null }, collection: null })

  for (const role of ['steward', 'consumer', 'system_admin', 'auditor', 'supervisor', 'leadership'] as const) {
    const res = await decide(h, 'student_basic', { decision: 'confirm' }, role)
    t.equal(res.statusCode, 403, `${role} does not decide gradings`)
  }
  t.equal((await decide(h, 'nope', { decision: 'confirm' })).statusCode, 404, 'an unknown dataset')
  names(t, await decide(h, 'student_basic', { decision: 'confirm' }), 'collection', 'personal information without a collection record')
  t.equal((await patch(h, 'student_basic', { collection: withoutRisk })).statusCode, 200)
  names(t, await decide(h, 'student_basic', { decision: 'confirm' }), 'collection.riskAssessment', 'a collection without its risk assessment')
  names(t, await decide(h, 'student_basic', { decision: 'reject' }), 'reason', 'a rejection without a reason')
  names(t, await decide(h, 'student_basic', { decision: 'reject', reason: 'x', grade: 'important' }), 'grade', 'a grade with a rejection')
  names(t, await decide(h, 'student_basic', { decision: 'confirm', foo: 1 }), 'foo', 'an unknown property')
  t.match(await view(h, 'student_basic'), { grade: 'ordinary', gradeVersion: 1, grading: { status: 'proposed' } }, 'nothing changed')
  t.same((await eventsOf(h.database.db, 'dataset', 'student_basic')).map((e) => e.action), ['dataset.create', 'dataset.update'], 'nor was an event written')

  const rejected = await decide(h, 'student_basic', { decision: 'reject', reason: 'state the risk assessment' })
  t.equal(rejected.statusCode, 200, rejected.body)
  t.match(rejected.json().grading, { status: 'rejected', decidedBy: 'office-admin', reason: 'state the risk assessment' })
  t.ok(Date.parse(rejected.json().grading.decidedAt))
  t.equal((await publish(h, 'student_basic')).json().code, 'CATALOG_GRADING_UNCONFIRMED', 'a rejected draft is not published')

  // the steward mends the draft: any edit resubmits it
  const mended = await patch(h, 'student_basic', { collection: COLLECTION })
  t.match(mended.json().grading, { status: 'proposed' })
  names(t, await decide(h, 'student_basic', { decision: 'confirm', grade: 'internal_public' }), 'grade', 'a grade below the proposed one')
  names(t, await decide(h, 'student_basic', { decision: 'confirm', shareAttribute: 'unconditional' }), 'shareAttribute', 'a looser share attribute')
  const confirmed = await decide(h, 'student_basic', { decision: 'confirm', grade: 'important', openAttribute: 'none', reason: 'ID data of every student' })
  t.equal(confirmed.statusCode, 200, confirmed.body)
  t.match(confirmed.json(), { grade: 'important', gradeVersion: 2, grading: { status: 'confirmed', decidedBy: 'office-admin', reason: 'ID data of every student' } })
  t.match(confirmed.json().collection, { method: 'business_process', riskAssessment: { reference: 'XSC-PIA-2026-03' } })
  t.equal((await decide(h, 'student_basic', { decision: 'confirm' })).statusCode, 409, 'nothing awaits a decision')

  // loosening a confirmed draft sends it back to the office; a neutral edit does not
  t.match((await patch(h, 'student_basic', { description: 'one row per student' })).json().grading, { status: 'confirmed' })
  t.match((await patch(h, 'student_basic', { openAttribute: 'conditional' })).json().grading, { status: 'proposed' })
  t.equal((await publish(h, 'student_basic')).statusCode, 409)
  await decide(h, 'student_basic', { decision: 'confirm' })
  t.equal((await publish(h, 'student_basic')).statusCode, 200, 'published once confirmed')
  const actions = (await eventsOf(h.database.db, 'dataset', 'student_basic')).map((e) => e.action)
  t.same(actions.filter((a) => a.startsWith('dataset.grading')), ['dataset.grading.reject', 'dataset.grading.confirm', 'dataset.grading.confirm'])
  const history = (await h.as('consumer', { method: 'GET', url: '/api/v1/datasets/student_basic/grades' }, { unit: 'MATH' })).json().data
  t.match(history.find((v: { version: number }) => v.version === 2), { grade: 'important', reason: 'ID data of every student', changedBy: 'office-admin' })
})

t.test('a published dataset: loosening waits for the office under the confirmed terms, tightening applies at once', async (t) => {
  const h = await build(t)
  await sharingSetup(h) // students, grades, courses (unconditional), secrets (not shareable) of CS
  await seedStudents(h, 5)
  await dataFixture(h)
  const read = async () => (await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records?limit=2' }, MATH_READER)).json()
  t.match((await read()).data[0].phone, /^138\*{4}\d{4}$/)

  // the phone is no longer to count as personal information: that waits
  const fields = STUDENT_FIELDS.map((f) => f.name === 'phone' ? { ...f, piType: null, format: null } : f)
  const proposed = await patch(h, 'students', { fields, reason: 'phones are office lines' })
  t.equal(proposed.statusCode, 200, proposed.body)
  t.match(proposed.json().grading, { status: 'proposed', decidedBy: 'fixture', proposal: { proposedBy: 'steward-cs', reason: 'phones are office lines' } })
  t.equal(proposed.json().grading.proposal.changes.fields.find((f: { name: string }) => f.name === 'phone').piType, null)
  t.equal(proposed.json().fields.find((f: { name: string }) => f.name === 'phone').piType, 'phone', 'the confirmed field list stands')
  t.match(await view(h, 'students', 'consumer', MATH_READER), { grading: { status: 'proposed', proposal: null } }, 'the proposal is the producer\'s and the office\'s')
  t.ok((await view(h, 'students', 'security_admin', OFFICE)).grading.proposal, 'the office sees it')
  const page = await read()
  t.match(page.data[0].phone, /^138\*{4}\d{4}$/, 'the data path keeps masking it')
  t.ok(page.masked.includes('phone'))
  const rejected = await decide(h, 'students', { decision: 'reject', reason: 'a phone is personal information' })
  t.match(rejected.json().grading, { status: 'rejected', proposal: null })
  t.equal(rejected.json().fields.find((f: { name: string }) => f.name === 'phone').piType, 'phone', 'a rejection leaves the confirmed terms')

  // sharing keeps the confirmed attribute until the office confirms the looser one
  t.match((await patch(h, 'secrets', { shareAttribute: 'unconditional' })).json(), { shareAttribute: 'none', grading: { status: 'proposed' } })
  t.match(await file(h, { dataset: 'secrets' }), { status: 'rejected' }, 'still not shareable')
  names(t, await decide(h, 'secrets', { decision: 'confirm' }), 'collection', 'the office needs the collection record of personal information')
  const both = await patch(h, 'secrets', { collection: COLLECTION })
  t.same(Object.keys(both.json().grading.proposal.changes).sort(), ['collection', 'shareAttribute'], 'proposals add up')
  const confirmed = await decide(h, 'secrets', { decision: 'confirm' })
  t.match(confirmed.json(), { shareAttribute: 'unconditional', collection: { method: 'business_process' }, grading: { status: 'confirmed', proposal: null } })
  t.match(await file(h, { dataset: 'secrets' }), { status: 'approved' }, 'now shared unconditionally')

  // a mixed change: the tightening part at once, the loosening part waits
  const mixed = await patch(h, 'grades', { grade: 'important', openAttribute: 'conditional' })
  t.match(mixed.json(), { grade: 'important', openAttribute: 'none', grading: { status: 'proposed', proposal: { changes: { openAttribute: 'conditional' } } } })
  t.notOk('grade' in mixed.json().grading.proposal.changes)
  names(t, await decide(h, 'grades', { decision: 'confirm', openAttribute: 'unconditional' }), 'openAttribute', 'looser than proposed')
  // withdrawing the loosening part (the latest word counts) leaves nothing waiting
  t.match((await patch(h, 'grades', { openAttribute: 'none' })).json().grading, { status: 'confirmed', proposal: null })

  // tightening alone takes effect at once
  const tightened = await patch(h, 'courses', { shareAttribute: 'conditional' })
  t.match(tightened.json(), { shareAttribute: 'conditional', grading: { status: 'confirmed', proposal: null } })
  t.match(await file(h, { dataset: 'courses', fields: ['student_id'] }), { status: 'pending_review' }, 'and sharing follows it')
  const events = (await eventsOf(h.database.db, 'dataset', 'secrets')).map((e) => e.action)
  t.same(events, ['dataset.grading.propose', 'dataset.grading.propose', 'dataset.update', 'dataset.regrade', 'dataset.grading.confirm'])
})

t.test('sensitive or children\'s personal information: no record before the office confirms, with the necessity assessment and the collective decision', async (t) => {
  const h = await build(t)
  await createUnit(h, 'CS')
  const { necessityAssessment: _n, collectiveDecision: _c, ...plain } = COLLECTION
  const health = studentDraft({ code: 'clinic', subject: 'clinic visits', collection: plain, fields: [...studentDraft().fields, { name: 'diagnosis', type: 'string', piType: 'health' }] })
  t.match((await register(h, health)).json(), { sensitivePersonalInfo: true, grade: 'important' })
  const row = { student_id: '2026000001', name: 'Wang Fang', diagnosis: 'flu' }
  const ingest = () => h.as('steward', { method: 'PUT', url: '/api/v1/datasets/clinic/records', payload: [row] }, CS)
  const refused = await ingest()
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { code: 'CATALOG_COLLECTION_UNCONFIRMED', detail: /sensitive or children's personal information/ })
  t.same(await h.database.db.selectFrom('records').select('record_key').execute(), [], 'nothing stored')
  t.same(await h.database.db.selectFrom('ingest_batches').select('id').execute(), [], 'no batch either')
  names(t, await decide(h, 'clinic', { decision: 'confirm' }), 'collection.necessityAssessment', 'sensitive PI without a necessity assessment')
  await patch(h, 'clinic', { collection: { ...plain, necessityAssessment: COLLECTION.necessityAssessment } })
  names(t, await decide(h, 'clinic', { decision: 'confirm' }), 'collection.collectiveDecision', 'nor without the collective decision')
  t.equal((await ingest()).statusCode, 409, 'still refused')
  await patch(h, 'clinic', { collection: COLLECTION })
  t.equal((await decide(h, 'clinic', { decision: 'confirm' })).statusCode, 200)
  t.match((await ingest()).json(), { accepted: 1, rejected: [] }, 'collected once confirmed')

  const kids = studentDraft({ code: 'kids', subject: 'pupils of the attached school', childrenPersonalInfo: true, collection: { ...COLLECTION, collectiveDecision: undefined } })
  t.equal((await register(h, kids)).statusCode, 201)
  names(t, await decide(h, 'kids', { decision: 'confirm' }), 'collection.collectiveDecision', 'children\'s PI without the collective decision')
  const badDate = await patch(h, 'kids', { collection: { ...COLLECTION, riskAssessment: { reference: 'x', date: 'soon' } } })
  names(t, badDate, 'collection.riskAssessment.date', 'a risk assessment without a date')
  names(t, await patch(h, 'kids', { collection: { ...COLLECTION, method: 'scraping' } }), 'collection.method', 'an unknown collection method')
  const minutes = await patch(h, 'kids', { collection: { ...COLLECTION, collectiveDecision: 'school affairs meeting 2026-07, minutes' } })
  t.equal(minutes.statusCode, 200, 'a reference alone will do for the decision')
  t.match((await decide(h, 'kids', { decision: 'confirm' })).json(), { grading: { status: 'confirmed' }, collection: { collectiveDecision: 'school affairs meeting 2026-07, minutes' } })
})
