// Data-error correction (001 §33, §64(3)): a unit holding a grant (or the office on a person's
// behalf) reports an error in a record, the producer's steward decides, an ingest batch that names
// the correction makes it; the deadline runs on the campus calendar and an overdue correction is
// listed and alerted once. The clock is injected (the workflow's and the sweep's `now`); nothing
// waits on a timer. Proposed values are record values: sealed where the field is encrypted, masked
// for the office, and never in the log or the audit trail.
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { sql } from 'kysely'
import pino from 'pino'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { reportOverdueCorrections } from '../../src/catalog/corrections/overdue.js'
import { createCorrectionWorkflow } from '../../src/catalog/corrections/workflow.js'
import { createRecordRepository } from '../../src/catalog/records/repository.js'
import { loggerOptions } from '../../src/platform/logging.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { build } from '../helpers/build.js'
import { field, insertDataset } from '../helpers/catalog.js'
import { dataFixture, MATH_READER, studentRow } from '../helpers/data.js'
import { insertGrant } from '../helpers/grants.js'
import { CS_STEWARD, LAW, LAW_STEWARD, MATH_STEWARD, OFFICE } from '../helpers/sharing.js'

const lines: string[] = []
const sink = new Writable({ write (chunk, _enc, done) { lines.push(chunk.toString()); done() } })
const h = await build(t, {
  logger: pino({ ...(loggerOptions('trace') as pino.LoggerOptions), transport: undefined }, sink),
  // the app's own sweep must not run before the test's; a holiday week and its make-up Sunday (调休)
  env: { REVIEW_SWEEP_SECONDS: '86400', CAMPUS_HOLIDAYS: '2026-10-01,2026-10-02,2026-10-05,2026-10-06,2026-10-07', CAMPUS_WORKDAYS: '2026-09-27' }
})
const db = h.database.db
await dataFixture(h, 5) // students of CS, granted to MATH
await insertDataset(h, { code: 'drafty', subject: 'drafty', status: 'draft', published_at: null })
// a dataset with a sensitive field, stored encrypted
await insertDataset(h, {
  code: 'clinic',
  subject: 'clinic visits',
  sensitive_pi: true,
  fields: [field('student_id', 'string', { required: true }), field('condition', 'string', { piType: 'health', sensitivity: 4 }), field('college', 'string')]
})
await createRecordRepository(db).ingest({ batch: randomUUID(), dataset: 'clinic', unit: 'CS', sub: 'fixture', client: null, format: 'json', received: 1, accepted: 1, rejected: 0, errors: {} },
  [{ key: '2026000001', personKey: '2026000001', data: { student_id: '2026000001', college: 'CS' } }])
await insertGrant(h, { request: { dataset_code: 'clinic' } })
await h.as('system_admin', { method: 'POST', url: '/api/v1/units', payload: { code: 'LAW', name: 'Law', officer: { name: 'o', contact: 'law@example.edu.cn' } } })

type Claims = { unit: string, sub: string }
const url = (dataset = 'students') => `/api/v1/datasets/${dataset}/corrections`
const report = async (payload: object, role: Role = 'consumer', claims: Claims = MATH_READER, dataset = 'students') =>
  await h.as(role, { method: 'POST', url: url(dataset), payload }, claims)
const list = async (query = '', role: Role = 'consumer', claims: Claims = MATH_READER, dataset = 'students') =>
  await h.as(role, { method: 'GET', url: `${url(dataset)}${query}` }, claims)
const decide = async (id: string, payload: object, role: Role = 'steward', claims: Claims = CS_STEWARD) =>
  await h.as(role, { method: 'POST', url: `${url()}/${id}/decision`, payload }, claims)
const get = async (id: string, role: Role = 'consumer', claims: Claims = MATH_READER) => await h.as(role, { method: 'GET', url: `${url()}/${id}` }, claims)
const ingest = async (rows: object[], correction: string) =>
  await h.as('steward', { method: 'PUT', url: `/api/v1/datasets/students/records?correction=${correction}`, payload: rows }, CS_STEWARD)
/** what a refusal must leave as it was */
const written = async () => ({
  corrections: (await db.selectFrom('record_corrections').select(['id', 'status', 'resolved_by_batch']).orderBy('id').execute()),
  events: Number((await db.selectFrom('domain_events').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n),
  batches: Number((await db.selectFrom('ingest_batches').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n)
})

// values that must never be logged or audited in the clear
const PHONE = '13912345678'
const CONDITION = 'seasonal asthma'
const BAD_PHONE = 'call-me-maybe-0042'
const phoneReport = { recordKey: '2026000001', field: 'phone', description: 'changed her number on 2026-09-03 (form XG-17)', proposedValue: PHONE }

t.test('a unit holding a grant, and the office, report; everyone else is refused and nothing changes', async (t) => {
  const res = await report(phoneReport)
  t.equal(res.statusCode, 201, res.body)
  const made = res.json()
  t.match(made, { dataset: 'students', recordKey: '2026000001', field: 'phone', proposedValue: PHONE, proposedValueMasked: false, status: 'open', reporterUnit: 'MATH', reportedBy: MATH_READER.sub, onBehalf: false, overdue: false, decision: null, resolvedByBatch: null })
  t.ok(Date.parse(made.dueAt) > Date.parse(made.reportedAt), 'a deadline')
  const [event] = (await db.selectFrom('domain_events').selectAll().where('object_id', '=', made.id).execute())
  t.match(event, { action: 'correction.report', actor_unit: 'MATH', dataset_code: 'students', details: { field: 'phone', keyDigest: /^[0-9a-f]{64}$/, proposed: true } }, 'audited')

  const office = await report({ recordKey: '2026000002', field: 'name', description: 'a person asked the office: the name is misspelt' }, 'security_admin', OFFICE)
  t.equal(office.statusCode, 201, office.body)
  t.match(office.json(), { onBehalf: true, reporterUnit: 'OFFICE' })
  t.equal((await report({ ...phoneReport, proposedValue: undefined }, 'steward', MATH_STEWARD)).statusCode, 201, 'a steward of the consumer unit too')

  const before = await written()
  for (const role of ['system_admin', 'auditor', 'supervisor', 'leadership'] as const) {
    t.equal((await report(phoneReport, role, OFFICE)).statusCode, 403, role)
  }
  for (const [role, claims, why] of [['consumer', LAW, 'a unit without a grant'], ['steward', CS_STEWARD, 'the producer itself']] as const) {
    const refused = await report(phoneReport, role, claims)
    t.equal(refused.statusCode, 403, why)
    t.equal(refused.json().code, 'CATALOG_CORRECTION_FORBIDDEN', why)
  }
  t.equal((await report(phoneReport, 'consumer', LAW, 'drafty')).statusCode, 404, 'a draft it cannot see')
  t.equal((await report(phoneReport, 'consumer', MATH_READER, 'nothing')).statusCode, 404)

  const bad: [object, string][] = [
    [{ ...phoneReport, field: 'nickname' }, 'field'],
    [{ ...phoneReport, field: 'no such' }, 'field'],
    [{ ...phoneReport, recordKey: '2026999999' }, 'recordKey'],
    [{ ...phoneReport, proposedValue: BAD_PHONE }, 'proposedValue'],
    [{ ...phoneReport, field: 'year', proposedValue: 'twenty' }, 'proposedValue'],
    [{ ...phoneReport, description: '' }, 'description'],
    [{ ...phoneReport, extra: 1 }, 'extra']
  ]
  for (const [payload, name] of bad) {
    const refused = await report(payload)
    t.equal(refused.statusCode, 400, JSON.stringify(payload))
    t.ok(refused.json().errors?.some((e: { field: string }) => e.field === name), `names ${name}: ${refused.body}`)
    t.notMatch(refused.body, BAD_PHONE, 'the problem never repeats the value')
  }
  t.same(await written(), before, 'no refusal changed anything')
})

t.test('reporters see their own unit\'s reports; the producer\'s stewards and the office all, masked for the office', async (t) => {
  const mine = (await list()).json().data
  t.ok(mine.length >= 2 && mine.every((c: { reporterUnit: string }) => c.reporterUnit === 'MATH'), 'MATH sees MATH\'s')
  t.equal(mine[mine.length - 1].proposedValue, PHONE, 'the reporter sees what it proposed')
  t.same((await list('', 'consumer', LAW)).json().data, [], 'a unit without reports sees none')
  const all = (await list('', 'steward', CS_STEWARD)).json().data
  t.same(all.map((c: { reporterUnit: string }) => c.reporterUnit).sort(), ['MATH', 'MATH', 'OFFICE'])
  t.equal(all.find((c: { proposedValue?: string }) => c.proposedValue !== undefined).proposedValue, PHONE, 'the producer, who must correct it, sees it too')
  const forOffice = (await list('', 'security_admin', OFFICE)).json().data
  t.equal(forOffice.length, 3)
  t.match(forOffice.find((c: { reporterUnit: string, field: string, proposedValueMasked: boolean }) => c.field === 'phone' && c.reporterUnit === 'MATH' && c.proposedValueMasked), { proposedValue: '139****5678' }, 'the office under the display masking')
  t.equal((await list('', 'auditor', OFFICE)).json().data.length, 3)

  const first = await list('?limit=1', 'steward', CS_STEWARD)
  t.equal(first.json().data.length, 1)
  const second = await list(`?limit=1&cursor=${first.json().nextCursor as string}`, 'steward', CS_STEWARD)
  t.not(second.json().data[0].id, first.json().data[0].id, 'pages follow each other')
  t.equal((await list('?status=rejected', 'steward', CS_STEWARD)).json().data.length, 0)
  t.equal((await list('?status=nope')).statusCode, 400)
  t.equal((await list('', 'consumer', LAW, 'drafty')).statusCode, 404)
  for (const role of ['system_admin', 'supervisor', 'leadership'] as const) t.equal((await list('', role, OFFICE)).statusCode, 403, role)

  const id = mine[0].id as string
  t.equal((await get(id)).statusCode, 200)
  t.equal((await get(id, 'consumer', LAW)).statusCode, 404, 'another unit\'s correction')
  t.equal((await get(id, 'steward', LAW_STEWARD)).statusCode, 404)
  t.equal((await get(randomUUID())).statusCode, 404)
})

t.test('the producer\'s steward decides; an accepted correction is made by the batch that names it', async (t) => {
  const id = (await report(phoneReport)).json().id as string
  const before = await written()
  t.equal((await decide(id, { decision: 'accept', reason: 'r' }, 'consumer', MATH_READER)).statusCode, 403, 'consumer')
  for (const role of ['security_admin', 'system_admin', 'auditor', 'supervisor', 'leadership'] as const) {
    t.equal((await decide(id, { decision: 'accept', reason: 'r' }, role, OFFICE)).statusCode, 403, role)
  }
  t.equal((await decide(id, { decision: 'accept', reason: 'r' }, 'steward', MATH_STEWARD)).statusCode, 403, 'the reporting unit\'s steward')
  t.equal((await decide(id, { decision: 'accept', reason: 'r' }, 'steward', LAW_STEWARD)).statusCode, 404, 'another unit\'s steward')
  for (const [payload, name] of [[{ decision: 'accept' }, 'reason'], [{ decision: 'accept', reason: '' }, 'reason'], [{ decision: 'maybe', reason: 'r' }, 'decision']] as const) {
    const refused = await decide(id, payload)
    t.equal(refused.statusCode, 400, JSON.stringify(payload))
    t.ok(refused.json().errors?.some((e: { field: string }) => e.field === name), `names ${name}`)
  }
  t.equal((await ingest([{ ...studentRow(1), phone: PHONE }], id)).statusCode, 409, 'an open correction is not made yet')
  t.same(await written(), before, 'nothing changed by a refusal')

  const accepted = await decide(id, { decision: 'accept', reason: 'confirmed with the student' })
  t.equal(accepted.statusCode, 200, accepted.body)
  t.match(accepted.json(), { status: 'accepted', decision: { decision: 'accept', reason: 'confirmed with the student', by: CS_STEWARD.sub } })
  t.equal((await decide(id, { decision: 'reject', reason: 'again' })).statusCode, 409, 'decided once')

  const afterDecision = await written()
  t.equal((await ingest([{ ...studentRow(2), phone: PHONE }], id)).statusCode, 409, 'a batch that does not write the record')
  t.equal((await ingest([{ ...studentRow(1), phone: 'not a phone' }], id)).statusCode, 409, 'or rejects it')
  t.equal((await ingest([studentRow(1)], randomUUID())).statusCode, 404, 'an unknown correction')
  t.equal((await ingest([studentRow(1)], 'nope')).json().errors?.[0]?.field, 'correction')
  t.same(await written(), afterDecision, 'none of them stored anything')

  const made = await ingest([{ ...studentRow(1), phone: PHONE }], id)
  t.equal(made.statusCode, 200, made.body)
  const batch = made.json().batch as string
  t.match((await get(id)).json(), { status: 'corrected', resolvedByBatch: batch, resolvedAt: String })
  t.same((await db.selectFrom('domain_events').select('action').where('object_id', '=', id).orderBy('id').execute()).map((e) => e.action),
    ['correction.report', 'correction.decide', 'correction.resolve'], 'every write audited')
  t.equal((await ingest([{ ...studentRow(1), phone: PHONE }], id)).statusCode, 409, 'made once')

  const other = (await report({ ...phoneReport, field: 'college', proposedValue: 'LAW' })).json().id as string
  t.match((await decide(other, { decision: 'reject', reason: 'the record is right: she studies in CS' })).json(), { status: 'rejected', decision: { decision: 'reject' } })
  t.equal((await list('?status=rejected')).json().data[0].id, other, 'filtered by status')
})

t.test('the deadline: working days on the campus calendar; overdue listed and alerted once', async (t) => {
  const workflow = createCorrectionWorkflow(db, h.app.encryption, h.config, h.app.ports.sharing)
  // Friday 25 September 2026, 10:00 campus time: the Sunday after is worked, the National Day week is off
  const friday = new Date('2026-09-25T02:00:00.000Z')
  const old = await workflow.report({ ...MATH_READER, roles: ['consumer'] }, 'students', { ...phoneReport, recordKey: '2026000003' }, 'test', friday)
  t.equal(old.row.due_at.toISOString(), '2026-10-08T02:00:00.000Z', 'Sun 27 (调休), Mon 28 to Wed 30, then Thu 8 October')
  const accepted = await workflow.report({ ...MATH_READER, roles: ['consumer'] }, 'students', { ...phoneReport, recordKey: '2026000004' }, 'test', friday)
  await decide(accepted.row.id, { decision: 'accept', reason: 'yes' })

  const overdue = (await list('?overdue=true', 'steward', CS_STEWARD)).json().data.map((c: { id: string }) => c.id)
  t.same(overdue.sort(), [old.row.id, accepted.row.id].sort(), 'past their deadline, undecided or not yet made')
  t.ok((await list('?overdue=false', 'steward', CS_STEWARD)).json().data.every((c: { overdue: boolean }) => !c.overdue))
  t.equal((await get(old.row.id)).json().overdue, true)

  const reported = await reportOverdueCorrections(db)
  t.same(reported.sort(), overdue.sort(), 'the sweep reports them')
  t.same(await reportOverdueCorrections(db), [], 'never twice')
  const [event] = await db.selectFrom('domain_events').selectAll().where('object_id', '=', old.row.id).where('action', '=', 'correction.overdue').execute()
  t.match(event, { actor_sub: 'system:deadlines', actor_unit: 'CS', details: { status: 'open', dueAt: '2026-10-08T02:00:00.000Z', reporterUnit: 'MATH' } }, 'traced to the producer that must act')
  // a week on (the sweep's clock): the corrections still waiting today are overdue too, the decided ones never
  const later = await reportOverdueCorrections(db, new Date(Date.now() + 30 * 86_400_000))
  const waiting = await db.selectFrom('record_corrections').select('id').where('status', 'in', ['open', 'accepted']).where('id', 'not in', overdue).execute()
  t.same(later.sort(), waiting.map((c) => c.id).sort())

  const log = auditLogOf(db)!
  await log.evaluateAlerts()
  await log.evaluateAlerts()
  const alerts = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts?limit=200' }, OFFICE)).json().data
    .filter((a: { rule: string }) => a.rule === 'correction_overdue')
  t.equal(alerts.length, reported.length + later.length, 'one alert per overdue correction')
  t.match(alerts[0], { actor: { sub: 'system:deadlines', unit: 'CS' }, count: 1, status: 'open' })
})

t.test('proposed values are record values: sealed where the field is encrypted, never logged or audited', async (t) => {
  const sealed = await report({ recordKey: '2026000001', field: 'condition', description: 'diagnosis updated by the clinic', proposedValue: CONDITION }, 'consumer', MATH_READER, 'clinic')
  t.equal(sealed.statusCode, 201, sealed.body)
  t.equal(sealed.json().proposedValue, CONDITION, 'the reporter sees it')
  const row = await db.selectFrom('record_corrections').selectAll().where('id', '=', sealed.json().id).executeTakeFirstOrThrow()
  t.equal(row.proposed_value, null)
  t.ok(row.proposed_sealed && !Buffer.from(row.proposed_sealed).toString('latin1').includes(CONDITION), 'sealed at rest')
  const forOffice = (await list('', 'security_admin', OFFICE, 'clinic')).json().data[0]
  t.match(forOffice, { proposedValueMasked: true }, 'health data: withheld from the office under the display masking')
  t.notOk('proposedValue' in forOffice)
  t.equal((await list('', 'steward', CS_STEWARD, 'clinic')).json().data[0].proposedValue, CONDITION, 'the producer\'s steward opens it')

  const clear = (await report({ recordKey: '2026000001', field: 'gpa', description: 'the transcript says 3.5', proposedValue: 3.5 })).json()
  t.equal((await db.selectFrom('record_corrections').select('proposed_value').where('id', '=', clear.id).executeTakeFirstOrThrow()).proposed_value, 3.5, 'a field stored in the clear, in the clear')

  await auditLogOf(db)!.flush()
  const audit = await sql<{ text: string }>`select coalesce(string_agg(details::text, ' '), '') as text from audit_events`.execute(db)
  const events = await sql<{ text: string }>`select coalesce(string_agg(details::text, ' '), '') as text from domain_events`.execute(db)
  for (const value of [PHONE, CONDITION, BAD_PHONE]) {
    t.notOk(lines.some((l) => l.includes(value)), `${value}: not in the log`)
    t.notOk(audit.rows[0]!.text.includes(value), `${value}: not in the audit log`)
    t.notOk(events.rows[0]!.text.includes(value), `${value}: not in the domain events`)
  }
  t.ok(lines.length > 10, 'the log was captured')
})
