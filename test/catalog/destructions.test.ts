// Supervised destruction (R10): proposal, reviews by the producer's steward and the office, the
// supervisor's witness, execution (records deleted, a whole dataset destroyed with its grants
// revoked and its data key shredded) and the permanent certificate; and the retention sweep that
// proposes destroying expired records (R5.2).
import { createHash } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { canonicalJson } from '../../src/platform/canonical-json.js'
import { certificateIntact } from '../../src/catalog/destructions/certificate.js'
import { RETENTION_ACTOR, RETENTION_LOCK, sweepRetention } from '../../src/catalog/retention/sweep.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { eventsOf } from '../../src/platform/events.js'
import { exportsOf } from '../../src/gateway/exports/plugin.js'
import { build, createUnit, type TestApp } from '../helpers/build.js'
import { field, insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'
import { seedStudents } from '../helpers/data.js'
import { TEST_DATABASE_URL } from '../helpers/database.js'
import { insertGrant } from '../helpers/grants.js'
import type { AccessMode } from '../../src/authorization/index.js'

const CS_STEWARD = { unit: 'CS', sub: 'cs-steward' }
const CS_STEWARD_2 = { unit: 'CS', sub: 'cs-steward-2' }
const LAW_STEWARD = { unit: 'LAW', sub: 'law-steward' }
const OFFICE = { unit: 'OFFICE', sub: 'office-li' }
const EXECUTOR = { unit: 'OFFICE', sub: 'office-wang' }
const OFFICE_PROPOSER = { unit: 'OFFICE', sub: 'office-chen' }
const SUPERVISOR = { unit: 'OFFICE', sub: 'supervisor-zhou' }
const AUDITOR = { unit: 'OFFICE', sub: 'auditor-zhao' }
const NO_SWEEP = { env: { RETENTION_SWEEP_SECONDS: '0' } }
const DAY = 86_400_000

type Who = { unit: string, sub: string }
const post = async (h: TestApp, role: Role | Role[], url: string, payload: object | undefined, who: Who) =>
  await h.as(role, { method: 'POST', url: `/api/v1/destructions${url}`, ...(payload ? { payload } : {}) }, who)
const get = async (h: TestApp, role: Role | Role[], url: string, who: Who) =>
  await h.as(role, { method: 'GET', url: `/api/v1/destructions${url}` }, who)
const propose = async (h: TestApp, body: object, who: Who = CS_STEWARD, role: Role | Role[] = 'steward') => await post(h, role, '', body, who)

/** Takes a proposal through both reviews and the witness; answers the destruction as witnessed. */
async function approveAndWitness (t: Test, h: TestApp, id: string) {
  const producer = await post(h, 'steward', `/${id}/reviews`, { decision: 'approve', reason: 'retention schedule checked' }, CS_STEWARD_2)
  t.equal(producer.statusCode, 200, producer.body)
  t.equal(producer.json().status, 'pending_review', 'one approval is not enough')
  const office = await post(h, 'security_admin', `/${id}/reviews`, { decision: 'approve' }, OFFICE)
  t.equal(office.statusCode, 200, office.body)
  t.equal(office.json().status, 'approved')
  const witnessed = await post(h, 'supervisor', `/${id}/witness`, { note: 'scope and approvals checked on site' }, SUPERVISOR)
  t.equal(witnessed.statusCode, 200, witnessed.body)
  t.match(witnessed.json(), { status: 'witnessed', witness: { sub: SUPERVISOR.sub, unit: 'OFFICE', note: 'scope and approvals checked on site' } })
  return witnessed.json()
}

const recordKeys = async (h: TestApp, dataset = 'students') => (await h.database.db.selectFrom('records').select('record_key')
  .where('dataset_code', '=', dataset).orderBy('record_key').execute()).map((r) => r.record_key)
const keysDigest = (keys: string[]) => createHash('sha256').update([...keys].sort().map((k) => `${k}\n`).join('')).digest('hex')
const count = async (h: TestApp, table: 'destructions' | 'destruction_certificates') =>
  (await h.database.db.selectFrom(table).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n

async function auditEvents (h: TestApp, query: string) {
  await auditLogOf(h.database.db)!.flush()
  const res = await h.as('auditor', { method: 'GET', url: `/api/v1/audit/events${query}` }, AUDITOR)
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json().data as Record<string, any>[]
}

/** `students` of CS with 30 records (college: n % 3 → MATH, LAW, CS) and units LAW and MATH. */
async function students (h: TestApp) {
  await insertDataset(h)
  await createUnit(h, 'LAW')
  await seedStudents(h, 30)
}

/** A `created_at` to store (the column is written by the database alone, hence the cast). */
const storedAt = (at: Date) => sql<never>`${at.toISOString()}::timestamptz`

/** Backdates the first `n` students (keys 2026000001…) to `days` ago. */
async function backdate (h: TestApp, n: number, days: number, dataset = 'students') {
  const keys = Array.from({ length: n }, (_, i) => String(2026000001 + i))
  await h.database.db.updateTable('records').set({ created_at: storedAt(new Date(Date.now() - days * DAY)) })
    .where('dataset_code', '=', dataset).where('record_key', 'in', keys).execute()
  return keys
}

t.test('a filter destruction end to end: only the selected records go, and the certificate stays', async (t) => {
  const h = await build(t, NO_SWEEP)
  await students(h)
  const { grant } = await insertGrant(h)
  const law = (await recordKeys(h)).filter((k) => (Number(k) - 2026000000) % 3 === 2)
  t.equal(law.length, 10)

  const res = await propose(h, { dataset: 'students', scope: 'filter', filter: { college: 'LAW' }, reason: 'law school records moved to the archive' })
  t.equal(res.statusCode, 201, res.body)
  const proposal = res.json()
  t.match(proposal, {
    dataset: 'students',
    producerUnit: 'CS',
    scope: 'filter',
    filter: { college: 'LAW' },
    cutoff: null,
    rowsInScope: 10,
    status: 'pending_review',
    proposedBy: CS_STEWARD,
    reviews: [],
    witness: null,
    executor: null,
    certificate: null
  })
  t.equal((await get(h, 'steward', `/${proposal.id}`, LAW_STEWARD)).statusCode, 404, 'another unit\'s steward sees nothing')
  t.same((await get(h, 'steward', '', LAW_STEWARD)).json().data, [], 'nor in its list')
  t.equal((await get(h, 'steward', `/${proposal.id}/certificate`, CS_STEWARD)).statusCode, 404, 'no certificate before execution')

  await approveAndWitness(t, h, proposal.id)
  const executed = await post(h, 'security_admin', `/${proposal.id}/execute`, { confirm: 'students' }, EXECUTOR)
  t.equal(executed.statusCode, 200, executed.body)
  t.match(executed.json(), { status: 'executed', executor: { sub: EXECUTOR.sub, unit: 'OFFICE' }, certificate: { id: String, digest: { sha256: /^[0-9a-f]{64}$/, sm3: /^[0-9a-f]{64}$/ } } })

  const left = await recordKeys(h)
  t.equal(left.length, 20, 'exactly the ten selected records are gone')
  t.notOk(left.some((k) => law.includes(k)), 'none of them is left')
  const remaining = await h.database.db.selectFrom('records').select('data').where('dataset_code', '=', 'students').execute()
  t.notOk(remaining.some((r) => r.data.college === 'LAW'))
  t.equal((await h.database.db.selectFrom('grants').select('status').where('id', '=', grant.id).executeTakeFirstOrThrow()).status, 'active',
    'a partial destruction leaves the grants alone')
  t.equal((await h.database.db.selectFrom('datasets').select('status').where('code', '=', 'students').executeTakeFirstOrThrow()).status, 'published')

  const cert = await get(h, 'auditor', `/${proposal.id}/certificate`, AUDITOR)
  t.equal(cert.statusCode, 200, cert.body)
  const certificate = cert.json()
  t.match(certificate, {
    id: executed.json().certificate.id,
    destruction: proposal.id,
    dataset: 'students',
    datasetName: 'Dataset students',
    producerUnit: 'CS',
    scope: 'filter',
    filter: { college: 'LAW' },
    reason: 'law school records moved to the archive',
    rowsDeleted: 10,
    recordKeys: { order: 'bytewise', sha256: keysDigest(law) },
    proposedBy: CS_STEWARD,
    approvals: [
      { party: 'producer', role: 'steward', sub: CS_STEWARD_2.sub, unit: 'CS', reason: 'retention schedule checked' },
      { party: 'office', role: 'security_admin', sub: OFFICE.sub, unit: 'OFFICE', reason: null }
    ],
    witness: { sub: SUPERVISOR.sub, unit: 'OFFICE' },
    executor: EXECUTOR,
    method: 'delete',
    dataKey: null,
    grantsRevoked: [],
    datasetStatus: { before: 'published', after: 'published' },
    residualCopies: /backups taken before .* still hold the deleted records/,
    digest: executed.json().certificate.digest
  })
  t.notMatch(JSON.stringify(certificate), /2026000002/, 'no record key is in the certificate')
  t.ok(certificateIntact(certificate), 'the digests cover the content')
  const { digest, ...content } = certificate
  t.equal(createHash('sm3').update(canonicalJson(content)).digest('hex'), digest.sm3, 'anyone can recompute the SM3 digest')
  t.notOk(certificateIntact({ ...certificate, rowsDeleted: 9 }), 'a changed certificate no longer matches')
  t.equal((await get(h, 'steward', `/${proposal.id}/certificate`, CS_STEWARD)).statusCode, 200, 'the producer\'s steward reads it')
  t.equal((await get(h, 'steward', `/${proposal.id}/certificate`, LAW_STEWARD)).statusCode, 404, 'another unit does not')

  // the certificate is permanent: the database refuses to change or remove it
  const db = h.database.db
  await t.rejects(db.updateTable('destruction_certificates').set({ digest_sha256: 'x' }).execute(), /permanent/)
  await t.rejects(db.deleteFrom('destruction_certificates').execute(), /permanent/)
  await t.rejects(sql`truncate destruction_certificates`.execute(db), /permanent/)
  t.same((await get(h, 'supervisor', `/${proposal.id}/certificate`, SUPERVISOR)).json(), certificate, 'unchanged')

  // every step is in the domain events, and the witness and execution are `destruction` audit events
  t.same((await eventsOf(db, 'destruction', proposal.id)).map((e) => e.action),
    ['destruction.create', 'destruction.approve', 'destruction.approve', 'destruction.witness', 'destruction.execute'])
  const audited = await auditEvents(h, '?action=destruction&dataset=students')
  t.same(audited.map((e) => e.operation).sort(), ['destruction.execute', 'destruction.witness'])
  t.match(audited.find((e) => e.operation === 'destruction.execute'), {
    action: 'destruction',
    outcome: 'success',
    actor: { sub: EXECUTOR.sub },
    objectType: 'destruction',
    objectId: proposal.id,
    details: { certificate: certificate.id, digest: certificate.digest, rowsDeleted: 10, method: 'delete' }
  })
  t.equal((await auditEvents(h, '?action=review&dataset=students')).length, 2, 'the reviews are review events')
})

const HEALTH_FIELDS = [
  ...STUDENT_FIELDS.slice(0, 2),
  field('college', 'string'),
  field('diagnosis', 'string', { piType: 'health', sensitivity: 4 })
]
const healthRow = (n: number) => ({ student_id: String(2026000000 + n), name: `学生${n}`, college: n % 2 ? 'CS' : 'LAW', diagnosis: n % 3 ? 'none' : 'asthma' })

t.test('a whole dataset: records deleted, the dataset destroyed, its grants revoked, its data key shredded', async (t) => {
  const h = await build(t, NO_SWEEP)
  await insertDataset(h, { code: 'health', fields: HEALTH_FIELDS, sensitive_pi: true })
  const ingest = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/health/records', payload: Array.from({ length: 12 }, (_, i) => healthRow(i + 1)) }, CS_STEWARD)
  t.equal(ingest.json().accepted, 12, ingest.body)
  const modes: AccessMode[] = ['api', 'export']
  const { grant, request } = await insertGrant(h, { request: { dataset_code: 'health', fields: ['student_id', 'college'], access_modes: modes }, grant: { access_modes: modes } })
  // a request of LAW still under review, which the destruction must not leave open
  await createUnit(h, 'LAW')
  const { id: _id, seq: _seq, created_at: _created, updated_at: _updated, commitment: _commitment, ...terms } = request
  const pendingRequest = await h.database.db.insertInto('share_requests')
    .values({ ...terms, consumer_unit: 'LAW', requested_by: 'law-reader', status: 'pending_review', row_filter: JSON.stringify(terms.row_filter) })
    .returningAll().executeTakeFirstOrThrow()
  const read = async () => await h.as('consumer', { method: 'GET', url: '/api/v1/data/health/records' }, { unit: 'MATH', sub: 'math-reader' })
  t.equal((await read()).statusCode, 200, 'the grant reads before')
  // a finished export of it, whose file must not outlive the dataset
  const exported = await h.as('consumer', { method: 'POST', url: '/api/v1/data/health/exports', payload: {} }, { unit: 'MATH', sub: 'math-reader' })
  t.equal(exported.statusCode, 202, exported.body)
  const exportUrl = `/api/v1/exports/${exported.json().id}`
  const exportNow = async () => (await h.as('consumer', { method: 'GET', url: exportUrl }, { unit: 'MATH', sub: 'math-reader' })).json()
  for (let i = 0; i < 600 && ['queued', 'running'].includes((await exportNow()).status); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal((await exportNow()).status, 'done', 'the export finished')
  const exportDir = exportsOf(h.app.db)!.dir
  t.equal(readdirSync(exportDir).length, 1, 'its file is on disk')
  const key = await h.database.db.selectFrom('data_keys').selectAll().where('dataset_code', '=', 'health').executeTakeFirstOrThrow()
  t.ok(key.wrapped, 'the dataset has a live data key')

  // a range on an encrypted field would match nothing: refused
  const range = await propose(h, { dataset: 'health', scope: 'filter', filter: { diagnosis: { gt: 'a' } }, reason: 'r' })
  t.equal(range.statusCode, 400)
  t.match(range.json().errors, [{ field: 'filter.diagnosis' }])
  const equal = await propose(h, { dataset: 'health', scope: 'filter', filter: { diagnosis: 'asthma' }, reason: 'counted through the blind index' })
  t.equal(equal.json().rowsInScope, 4, 'equality on an encrypted field counts through its blind index')

  const res = await propose(h, { dataset: 'health', scope: 'all', reason: 'the clinic system of 2019 was decommissioned' }, OFFICE_PROPOSER, 'security_admin')
  t.equal(res.statusCode, 201, res.body)
  t.match(res.json(), { scope: 'all', rowsInScope: 12, proposedBy: OFFICE_PROPOSER })
  const { id } = res.json()
  await approveAndWitness(t, h, id)
  const executed = await post(h, 'security_admin', `/${id}/execute`, { confirm: 'health' }, EXECUTOR)
  t.equal(executed.statusCode, 200, executed.body)

  t.same(await recordKeys(h, 'health'), [], 'every record is gone')
  const dataset = await h.as('steward', { method: 'GET', url: '/api/v1/datasets/health' }, CS_STEWARD)
  t.equal(dataset.json().status, 'destroyed')
  const revoked = await h.database.db.selectFrom('grants').selectAll().where('id', '=', grant.id).executeTakeFirstOrThrow()
  t.match(revoked, { status: 'revoked', status_reason: `dataset health destroyed (destruction ${id})`, status_changed_by: EXECUTOR.sub })
  t.ok(revoked.status_changed_at instanceof Date)
  const after = await read()
  t.equal(after.statusCode, 403, 'the data path refuses the revoked grant at once')
  t.match(after.json().detail, /revoked/)
  const withdrawn = await h.database.db.selectFrom('share_requests').selectAll().where('id', '=', pendingRequest.id).executeTakeFirstOrThrow()
  t.match(withdrawn, { status: 'withdrawn', decision_reason: `dataset health destroyed (destruction ${id})` }, 'the open request is withdrawn')
  t.match(await exportNow(), { status: 'expired', file: null }, 'the finished export expired with the dataset')
  const file = await h.as('consumer', { method: 'GET', url: `${exportUrl}/file` }, { unit: 'MATH', sub: 'math-reader' })
  t.equal(file.statusCode, 410, 'its file is not given out')
  await exportsOf(h.app.db)!.runner.sweep()
  t.same(readdirSync(exportDir), [], 'and the gateway\'s sweep deletes it')
  const shredded = await h.database.db.selectFrom('data_keys').selectAll().where('dataset_code', '=', 'health').executeTakeFirstOrThrow()
  t.match(shredded, { wrapped: null, destroyed_by: EXECUTOR.sub })
  t.ok(shredded.destroyed_at instanceof Date, 'the data key is destroyed')

  const certificate = (await get(h, 'security_admin', `/${id}/certificate`, OFFICE)).json()
  t.match(certificate, {
    scope: 'all',
    filter: null,
    rowsDeleted: 12,
    method: 'delete+crypto-shred',
    dataKey: { suite: 'aes-256-gcm', masterFingerprint: key.master_fingerprint },
    grantsRevoked: [grant.id],
    datasetStatus: { before: 'published', after: 'destroyed' },
    residualCopies: new RegExp(`data key was destroyed.*diagnosis.*master key ${key.master_fingerprint}`)
  })
  t.ok(certificateIntact(certificate))

  // the dataset takes nothing more: no records, no destruction
  const late = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/health/records', payload: [healthRow(99)] }, CS_STEWARD)
  t.equal(late.statusCode, 409)
  t.equal((await propose(h, { dataset: 'health', scope: 'all', reason: 'again' })).statusCode, 409)
  const pending = await post(h, 'steward', `/${equal.json().id}/reviews`, { decision: 'approve' }, CS_STEWARD_2)
  t.equal(pending.statusCode, 200, 'a proposal left pending may still be reviewed…')
  await post(h, 'security_admin', `/${equal.json().id}/reviews`, { decision: 'approve' }, OFFICE)
  await post(h, 'supervisor', `/${equal.json().id}/witness`, {}, SUPERVISOR)
  t.equal((await post(h, 'security_admin', `/${equal.json().id}/execute`, { confirm: 'health' }, EXECUTOR)).statusCode, 409, '…but not executed on a destroyed dataset')

  const events = await auditEvents(h, '?dataset=health')
  const actions = events.map((e) => `${e.action} ${e.operation}`)
  for (const expected of ['destruction dataset.destroy', 'destruction data_key.destroy', 'destruction destruction.execute', 'revoke grant.revoke']) {
    t.ok(actions.includes(expected), `audited: ${expected}`)
  }
  t.match(events.find((e) => e.operation === 'dataset.destroy'), { details: { grantsRevoked: 1, requestsWithdrawn: 1, exportsExpired: 1, dataKeyDestroyed: true } })
  t.match(events.find((e) => e.operation === 'share_request.withdraw'), { objectId: pendingRequest.id, details: { cause: 'destruction', destruction: id, before: { status: 'pending_review' } } })
})

t.test('a whole dataset without encrypted fields: the certificate says delete, and no key was shredded', async (t) => {
  const h = await build(t, NO_SWEEP)
  // no field with a PI type: nothing of it is sealed (every PI field is, 003 3(1))
  await insertDataset(h, { fields: STUDENT_FIELDS.map((f) => ({ ...f, piType: null, sensitivity: 1 })), holds_pi: false })
  await createUnit(h, 'LAW')
  await seedStudents(h, 30)
  const { id } = (await propose(h, { dataset: 'students', scope: 'all', reason: 'superseded by student_basic' })).json()
  await approveAndWitness(t, h, id)
  t.equal((await post(h, 'security_admin', `/${id}/execute`, { confirm: 'students' }, EXECUTOR)).statusCode, 200)
  const certificate = (await get(h, 'steward', `/${id}/certificate`, CS_STEWARD)).json()
  t.match(certificate, { rowsDeleted: 30, method: 'delete', dataKey: null, residualCopies: /no data key/ })
  t.equal(certificate.recordKeys.sha256, keysDigest(Array.from({ length: 30 }, (_, i) => String(2026000001 + i))))
  t.notOk(await h.database.db.selectFrom('data_keys').select('dataset_code').where('dataset_code', '=', 'students').executeTakeFirst())
})

t.test('expired records: the cutoff fixed at the proposal decides, fresh records stay', async (t) => {
  const h = await build(t, NO_SWEEP)
  await students(h)
  const old = await backdate(h, 12, 4000) // retention 3650 days
  const res = await propose(h, { dataset: 'students', scope: 'expired', reason: 'retention period over' })
  t.equal(res.statusCode, 201, res.body)
  const proposal = res.json()
  t.equal(proposal.rowsInScope, 12)
  const cutoff = Date.parse(proposal.cutoff)
  t.ok(Math.abs(cutoff - (Date.now() - 3650 * DAY)) < 60_000, 'cutoff: now − retentionDays')
  const second = await propose(h, { dataset: 'students', scope: 'expired', reason: 'again' }, OFFICE, 'security_admin')
  t.equal(second.statusCode, 409, 'one open expired proposal per dataset')
  t.match(second.json().detail, proposal.id)

  // a record stored a millisecond after the cutoff expires while the proposal is reviewed: it was
  // not approved for destruction, so it stays
  await h.database.db.updateTable('records').set({ created_at: storedAt(new Date(cutoff + 1)) }).where('record_key', '=', '2026000020').execute()
  await approveAndWitness(t, h, proposal.id)
  const executed = await post(h, 'security_admin', `/${proposal.id}/execute`, { confirm: 'students' }, EXECUTOR)
  t.equal(executed.statusCode, 200, executed.body)
  const left = await recordKeys(h)
  t.equal(left.length, 18)
  t.notOk(left.some((k) => old.includes(k)))
  t.ok(left.includes('2026000020'))
  t.match((await get(h, 'auditor', `/${proposal.id}/certificate`, AUDITOR)).json(), {
    scope: 'expired', cutoff: proposal.cutoff, rowsDeleted: 12, recordKeys: { sha256: keysDigest(old) }
  })
  const next = await propose(h, { dataset: 'students', scope: 'expired', reason: 'the next batch' })
  t.equal(next.statusCode, 201)
  t.equal(next.json().rowsInScope, 1, 'the record that expired meanwhile is for the next proposal')
})

t.test('bad proposals are refused with the field named, and change nothing', async (t) => {
  const h = await build(t, NO_SWEEP)
  await students(h)
  await insertDataset(h, { code: 'draft_set', producer_unit: 'LAW', status: 'draft', published_at: null })
  const cases: [string, object, string][] = [
    ['unknown dataset', { dataset: 'nope', scope: 'all', reason: 'r' }, 'dataset'],
    ['another unit\'s draft', { dataset: 'draft_set', scope: 'all', reason: 'r' }, 'dataset'],
    ['missing reason', { dataset: 'students', scope: 'all' }, 'reason'],
    ['empty reason', { dataset: 'students', scope: 'all', reason: '' }, 'reason'],
    ['unknown scope', { dataset: 'students', scope: 'some', reason: 'r' }, 'scope'],
    ['filter scope without filter', { dataset: 'students', scope: 'filter', reason: 'r' }, 'filter'],
    ['empty filter', { dataset: 'students', scope: 'filter', filter: {}, reason: 'r' }, 'filter'],
    ['filter on an unknown field', { dataset: 'students', scope: 'filter', filter: { nope: 1 }, reason: 'r' }, 'filter.nope'],
    ['filter value of the wrong type', { dataset: 'students', scope: 'filter', filter: { year: 'x' }, reason: 'r' }, 'filter.year'],
    ['filter with an unknown operator', { dataset: 'students', scope: 'filter', filter: { year: { like: 1 } }, reason: 'r' }, 'filter.year.like'],
    ['filter with scope all', { dataset: 'students', scope: 'all', filter: { college: 'CS' }, reason: 'r' }, 'filter'],
    ['unknown member', { dataset: 'students', scope: 'all', reason: 'r', confirm: true }, 'confirm']
  ]
  for (const [name, body, fieldName] of cases) {
    const res = await propose(h, body)
    t.equal(res.statusCode, 400, `${name}: ${res.body}`)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === fieldName), `${name} names ${fieldName}: ${res.body}`)
  }
  t.equal((await propose(h, { dataset: 'students', scope: 'expired', reason: 'r' })).statusCode, 409, 'no record is past retention')
  const other = await propose(h, { dataset: 'students', scope: 'all', reason: 'r' }, LAW_STEWARD)
  t.equal(other.statusCode, 403, 'another unit\'s steward may not propose destroying CS data')
  t.equal(other.json().code, 'CATALOG_NOT_PRODUCER')
  for (const role of ['consumer', 'auditor', 'supervisor', 'leadership', 'system_admin'] as const) {
    t.equal((await propose(h, { dataset: 'students', scope: 'all', reason: 'r' }, CS_STEWARD, role)).statusCode, 403, `${role} proposes nothing`)
  }
  t.equal(await count(h, 'destructions'), 0, 'nothing was proposed')
  t.equal((await recordKeys(h)).length, 30)
})

t.test('reviews, witness and execution refuse whoever may not take the step, and steps out of order', async (t) => {
  const h = await build(t, NO_SWEEP)
  await students(h)
  const { id } = (await propose(h, { dataset: 'students', scope: 'filter', filter: { college: 'CS' }, reason: 'r' })).json()
  const unknown = '00000000-0000-4000-8000-000000000000'

  // reading
  for (const [role, who] of [['consumer', { unit: 'CS', sub: 'cs-user' }], ['leadership', OFFICE], ['system_admin', OFFICE]] as const) {
    t.equal((await get(h, role, `/${id}`, who)).statusCode, 403, `${role} reads no destruction`)
  }
  t.equal((await get(h, 'steward', `/${id}`, LAW_STEWARD)).statusCode, 404, 'another unit\'s steward: 404')
  t.equal((await get(h, 'auditor', `/${unknown}`, AUDITOR)).statusCode, 404)
  t.equal((await get(h, 'auditor', `/${unknown}/certificate`, AUDITOR)).statusCode, 404)

  // out of order: execution and witness before the approvals
  t.equal((await post(h, 'security_admin', `/${id}/execute`, { confirm: 'students' }, EXECUTOR)).statusCode, 409, 'no execution without approvals')
  t.equal((await post(h, 'supervisor', `/${id}/witness`, {}, SUPERVISOR)).statusCode, 409, 'no witness before the approvals')

  // reviews
  t.equal((await post(h, 'consumer', `/${id}/reviews`, { decision: 'approve' }, { unit: 'CS', sub: 'cs-user' })).statusCode, 403)
  t.equal((await post(h, 'auditor', `/${id}/reviews`, { decision: 'approve' }, AUDITOR)).statusCode, 403)
  t.equal((await post(h, 'steward', `/${id}/reviews`, { decision: 'approve' }, LAW_STEWARD)).statusCode, 404, 'another unit\'s steward: 404')
  t.equal((await post(h, 'steward', `/${unknown}/reviews`, { decision: 'approve' }, CS_STEWARD)).statusCode, 404)
  const asOffice = await post(h, 'steward', `/${id}/reviews`, { decision: 'approve', party: 'office' }, CS_STEWARD)
  t.equal(asOffice.statusCode, 403, 'a steward does not review as the office')
  const noReason = await post(h, 'steward', `/${id}/reviews`, { decision: 'reject' }, CS_STEWARD_2)
  t.equal(noReason.statusCode, 400)
  t.match(noReason.json().errors, [{ field: 'reason' }])
  t.equal((await post(h, 'steward', `/${id}/reviews`, { decision: 'maybe' }, CS_STEWARD_2)).statusCode, 400)
  t.equal((await post(h, 'steward', `/${id}/reviews`, { decision: 'approve' }, CS_STEWARD_2)).statusCode, 200)
  const twice = await post(h, 'steward', `/${id}/reviews`, { decision: 'approve' }, { unit: 'CS', sub: 'cs-steward-3' })
  t.equal(twice.statusCode, 409, 'the producer reviews once')
  t.equal(twice.json().code, 'CATALOG_DESTRUCTION_ALREADY_REVIEWED')
  const samePerson = await post(h, ['steward', 'security_admin'], `/${id}/reviews`, { decision: 'approve', party: 'office' }, CS_STEWARD_2)
  t.equal(samePerson.statusCode, 403, 'one person does not give both approvals')
  t.equal((await post(h, ['security_admin', 'supervisor'], `/${id}/reviews`, { decision: 'approve' }, { unit: 'OFFICE', sub: 'office-and-supervisor' })).statusCode, 200)

  // witness
  t.equal((await post(h, 'steward', `/${id}/witness`, {}, CS_STEWARD)).statusCode, 403, 'a steward does not witness')
  t.equal((await post(h, 'security_admin', `/${id}/witness`, {}, OFFICE)).statusCode, 403, 'the office does not witness')
  const reviewer = await post(h, 'supervisor', `/${id}/witness`, {}, { unit: 'OFFICE', sub: 'office-and-supervisor' })
  t.equal(reviewer.statusCode, 403, 'a supervisor who reviewed does not witness')
  t.equal(reviewer.json().code, 'CATALOG_DESTRUCTION_FORBIDDEN')
  t.equal((await post(h, 'supervisor', `/${id}/witness`, { unexpected: 1 }, SUPERVISOR)).statusCode, 400)
  t.equal((await post(h, 'security_admin', `/${id}/execute`, { confirm: 'students' }, EXECUTOR)).statusCode, 409, 'no execution without a witness')
  const both = { unit: 'OFFICE', sub: 'office-zhou' }
  t.equal((await post(h, 'supervisor', `/${id}/witness`, {}, both)).statusCode, 200)
  t.equal((await post(h, 'supervisor', `/${id}/witness`, {}, SUPERVISOR)).statusCode, 409, 'witnessed once')

  // execution
  for (const role of ['steward', 'supervisor', 'auditor', 'consumer'] as const) {
    t.equal((await post(h, role, `/${id}/execute`, { confirm: 'students' }, { unit: 'CS', sub: `cs-${role}` })).statusCode, 403, `${role} executes nothing`)
  }
  const witnessExecutes = await post(h, 'security_admin', `/${id}/execute`, { confirm: 'students' }, both)
  t.equal(witnessExecutes.statusCode, 403, 'the witness does not execute')
  t.equal(witnessExecutes.json().code, 'CATALOG_DESTRUCTION_FORBIDDEN')
  t.equal((await post(h, 'security_admin', `/${unknown}/execute`, { confirm: 'students' }, EXECUTOR)).statusCode, 404)
  const unconfirmed = await post(h, 'security_admin', `/${id}/execute`, {}, EXECUTOR)
  t.equal(unconfirmed.statusCode, 400, 'execution names the dataset again')
  t.match(unconfirmed.json().errors, [{ field: 'confirm' }])
  const mistyped = await post(h, 'security_admin', `/${id}/execute`, { confirm: 'student' }, EXECUTOR)
  t.equal(mistyped.statusCode, 400)
  t.match(mistyped.json(), { errors: [{ field: 'confirm' }], detail: /students/ })
  t.equal((await recordKeys(h)).length, 30, 'no refusal destroyed anything')
  t.equal(await count(h, 'destruction_certificates'), 0)
  t.equal((await post(h, 'security_admin', `/${id}/execute`, { confirm: 'students' }, EXECUTOR)).statusCode, 200)
  t.equal((await recordKeys(h)).length, 20)
  t.equal((await post(h, 'security_admin', `/${id}/execute`, { confirm: 'students' }, EXECUTOR)).statusCode, 409, 'executed once')
  t.equal(await count(h, 'destruction_certificates'), 1)
})

t.test('one person holds one part: every pair of parts is refused and audited, whatever the roles; a rejection ends the proposal', async (t) => {
  const h = await build(t, NO_SWEEP)
  await students(h)
  // five people of the producer unit, each holding every role a part needs
  const ALL: Role[] = ['steward', 'security_admin', 'supervisor']
  const [P, R1, R2, W, E] = ['proposer', 'producer-reviewer', 'office-reviewer', 'witness', 'executor'].map((sub) => ({ unit: 'CS', sub: `cs-${sub}` }))
  const { id } = (await propose(h, { dataset: 'students', scope: 'filter', filter: { college: 'CS' }, reason: 'r' }, P!, ALL)).json()
  const state = async () => {
    const d = (await get(h, 'auditor', `/${id}`, AUDITOR)).json()
    return { status: d.status, reviews: d.reviews.length, witness: d.witness?.sub ?? null, executor: d.executor?.sub ?? null }
  }
  const refusals: string[] = []
  async function refused (who: Who, url: string, body: object, holds: string, wants: string) {
    const before = await state()
    const res = await post(h, ALL, url, body, who)
    t.equal(res.statusCode, 403, `the ${holds} is not the ${wants}: ${res.body}`)
    t.equal(res.json().code, 'CATALOG_DESTRUCTION_FORBIDDEN')
    t.match(res.json().detail, `${who.sub} is the ${holds} of this destruction and may not also be its ${wants}`)
    t.same(await state(), before, 'nothing changed')
    refusals.push(res.json().requestId)
  }
  const producerReview = { decision: 'approve', party: 'producer' }
  const officeReview = { decision: 'approve', party: 'office' }
  await refused(P!, `/${id}/reviews`, producerReview, 'proposer', 'producer reviewer')
  await refused(P!, `/${id}/reviews`, officeReview, 'proposer', 'office reviewer')
  t.equal((await post(h, ALL, `/${id}/reviews`, producerReview, R1!)).statusCode, 200)
  await refused(R1!, `/${id}/reviews`, officeReview, 'producer reviewer', 'office reviewer')
  t.equal((await post(h, ALL, `/${id}/reviews`, officeReview, R2!)).statusCode, 200)
  await refused(P!, `/${id}/witness`, {}, 'proposer', 'witness')
  await refused(R1!, `/${id}/witness`, {}, 'producer reviewer', 'witness')
  await refused(R2!, `/${id}/witness`, {}, 'office reviewer', 'witness')
  t.equal((await post(h, ALL, `/${id}/witness`, {}, W!)).statusCode, 200)
  const execute = { confirm: 'students' }
  await refused(P!, `/${id}/execute`, execute, 'proposer', 'executor')
  await refused(R1!, `/${id}/execute`, execute, 'producer reviewer', 'executor')
  await refused(R2!, `/${id}/execute`, execute, 'office reviewer', 'executor')
  await refused(W!, `/${id}/execute`, execute, 'witness', 'executor')
  t.equal((await recordKeys(h)).length, 30, 'no refusal destroyed anything')
  t.equal((await post(h, ALL, `/${id}/execute`, execute, E!)).statusCode, 200, 'the fifth person executes')
  t.equal((await recordKeys(h)).length, 20)
  const denied = await auditEvents(h, '?action=denied&limit=100')
  for (const requestId of refusals) {
    const event = denied.find((e) => e.requestId === requestId)
    t.match(event, { outcome: 'denied', details: { status: 403, code: 'CATALOG_DESTRUCTION_FORBIDDEN', detail: /separation of duties: cs-[a-z-]+ is the [a-z ]+ of this destruction/ } },
      `refusal ${requestId} is in the audit log, with the conflict`)
  }
  t.equal(refusals.length, 10, 'ten pairs')

  const second = (await propose(h, { dataset: 'students', scope: 'filter', filter: { year: { lte: 2021 } }, reason: 'r' })).json()
  const rejected = await post(h, 'security_admin', `/${second.id}/reviews`, { decision: 'reject', reason: 'the records are evidence in an appeal' }, OFFICE)
  t.equal(rejected.statusCode, 200)
  t.match(rejected.json(), { status: 'rejected', decisionReason: 'rejected by the office: the records are evidence in an appeal', reviews: [{ party: 'office', decision: 'reject' }] })
  t.equal((await post(h, 'steward', `/${second.id}/reviews`, { decision: 'approve' }, CS_STEWARD)).statusCode, 409, 'nothing left to review')
  t.equal((await post(h, 'supervisor', `/${second.id}/witness`, {}, SUPERVISOR)).statusCode, 409)
  t.equal((await post(h, 'security_admin', `/${second.id}/execute`, { confirm: 'students' }, EXECUTOR)).statusCode, 409)
  t.equal((await recordKeys(h)).length, 20, 'the rejected proposal destroyed nothing')
})

t.test('lists: newest first, cursor-paginated, filtered, a unit\'s stewards see their own', async (t) => {
  const h = await build(t, NO_SWEEP)
  await students(h)
  await insertDataset(h, { code: 'courses', producer_unit: 'LAW', subject: 'law courses' })
  const a = (await propose(h, { dataset: 'students', scope: 'all', reason: 'a' })).json()
  const b = (await propose(h, { dataset: 'students', scope: 'filter', filter: { college: 'CS' }, reason: 'b' })).json()
  const c = (await propose(h, { dataset: 'courses', scope: 'all', reason: 'c' }, LAW_STEWARD)).json()
  const ids = async (role: Role, who: Who, query = '') => (await get(h, role, query, who)).json().data.map((d: { id: string }) => d.id)
  t.same(await ids('auditor', AUDITOR), [c.id, b.id, a.id])
  t.same(await ids('supervisor', SUPERVISOR), [c.id, b.id, a.id])
  t.same(await ids('steward', CS_STEWARD), [b.id, a.id])
  t.same(await ids('steward', LAW_STEWARD), [c.id])
  t.same(await ids('security_admin', OFFICE, '?scope=filter'), [b.id])
  t.same(await ids('security_admin', OFFICE, '?dataset=courses'), [c.id])
  await post(h, 'security_admin', `/${a.id}/reviews`, { decision: 'reject', reason: 'no' }, OFFICE)
  t.same(await ids('security_admin', OFFICE, '?status=rejected'), [a.id])
  const first = (await get(h, 'auditor', '?limit=2', AUDITOR)).json()
  t.same(first.data.map((d: { id: string }) => d.id), [c.id, b.id])
  const next = (await get(h, 'auditor', `?limit=2&cursor=${first.nextCursor}`, AUDITOR)).json()
  t.same(next.data.map((d: { id: string }) => d.id), [a.id])
  t.equal(next.nextCursor, null)
  t.equal((await get(h, 'auditor', '?cursor=bm9wZQ', AUDITOR)).statusCode, 400)
  t.equal((await get(h, 'auditor', '?limit=1000', AUDITOR)).statusCode, 400)
})

t.test('the retention sweep opens one proposal per dataset with expired records, and never a second', async (t) => {
  const h = await build(t, NO_SWEEP)
  await students(h)
  await insertDataset(h, { code: 'fresh', producer_unit: 'LAW', subject: 'fresh subject' })
  await seedStudents(h, 5, 'fresh')
  await insertDataset(h, { code: 'empty', subject: 'empty subject' })
  await backdate(h, 5, 3651)
  await backdate(h, 5, 10, 'fresh') // younger than its retention period

  const first = await sweepRetention(h.database.db)
  t.equal(first.ran, true)
  t.equal(first.opened.length, 1)
  t.match(first.opened[0], { dataset: 'students', rows: 5 })
  const proposal = (await get(h, 'steward', `/${first.opened[0]!.destruction}`, CS_STEWARD)).json()
  t.match(proposal, { scope: 'expired', status: 'pending_review', rowsInScope: 5, proposedBy: { sub: RETENTION_ACTOR, unit: 'CS' }, reason: /retention period of 3650 days/ })
  const [created] = await eventsOf(h.database.db, 'destruction', proposal.id)
  t.match(created, { action: 'destruction.create', actor_sub: RETENTION_ACTOR, actor_unit: 'CS', dataset_code: 'students' })

  t.same((await sweepRetention(h.database.db)).opened, [], 'the open proposal is not duplicated')
  t.equal(await count(h, 'destructions'), 1)
  t.equal((await propose(h, { dataset: 'students', scope: 'expired', reason: 'by hand' })).statusCode, 409, 'nor by hand')

  // once it is closed, the next sweep proposes again
  await post(h, 'steward', `/${proposal.id}/reviews`, { decision: 'reject', reason: 'records under legal hold until June' }, CS_STEWARD)
  const again = await sweepRetention(h.database.db)
  t.equal(again.opened.length, 1)
  t.not(again.opened[0]!.destruction, proposal.id)
})

t.test('concurrent sweeps open one proposal between them', async (t) => {
  const h = await build(t, NO_SWEEP)
  await students(h)
  await insertDataset(h, { code: 'courses', producer_unit: 'LAW', subject: 'law courses' })
  await seedStudents(h, 3, 'courses')
  await backdate(h, 3, 4000)
  await backdate(h, 3, 4000, 'courses')
  const results = await Promise.all(Array.from({ length: 4 }, () => sweepRetention(h.database.db)))
  t.ok(results.some((r) => r.ran))
  t.equal(results.flatMap((r) => r.opened).length, 2, 'one proposal per dataset among all the sweeps')
  const rows = await h.database.db.selectFrom('destructions').select(['dataset_code', 'proposed_by']).orderBy('dataset_code').execute()
  t.same(rows, [{ dataset_code: 'courses', proposed_by: RETENTION_ACTOR }, { dataset_code: 'students', proposed_by: RETENTION_ACTOR }])

  // on PostgreSQL, an instance finding the lock held by another skips its turn (PGlite has one
  // connection, on which the sweeps above already ran one after the other)
  if (TEST_DATABASE_URL) {
    const students = results.flatMap((r) => r.opened).find((o) => o.dataset === 'students')!
    await post(h, 'steward', `/${students.destruction}/reviews`, { decision: 'reject', reason: 'legal hold' }, CS_STEWARD)
    const skipped = await h.database.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${RETENTION_LOCK}::bigint)`.execute(trx)
      return await sweepRetention(h.database.db)
    })
    t.same(skipped, { ran: false, opened: [] }, 'the lock is held elsewhere: nothing done')
    t.equal((await sweepRetention(h.database.db)).opened.length, 1, 'the next turn sweeps')
  }
})

t.test('the catalog service runs the sweep on its timer', async (t) => {
  const h = await build(t, { env: { RETENTION_SWEEP_SECONDS: '1' } })
  await students(h)
  await backdate(h, 2, 4000)
  let found = 0
  for (let i = 0; i < 300 && found === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    found = await count(h, 'destructions')
  }
  t.equal(found, 1, 'a proposal was opened without anyone calling')
})
