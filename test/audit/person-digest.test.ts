// The digest of a record's person key for the person-access trace is made once at ingest
// (records.person_digest, under the trace key named by person_digest_key), and reads take it from
// the row instead of hashing every person on every page; a digest under another key (a rotated
// master key) or none (records stored before) is made at the read as before.
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { backfillPersonDigests } from '../../src/audit/persons/backfill.js'
import { personTracerOf } from '../../src/audit/persons/trace.js'
import { build, type TestApp } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'
import { studentRow } from '../helpers/data.js'
import { insertGrant } from '../helpers/grants.js'

const STEWARD = { unit: 'CS', sub: 'cs-steward' }
const MATH = { unit: 'MATH', sub: 'math-reader' }
const person = (n: number) => String(2026000000 + n)
const hex = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : null)

async function ingest (t: Test, h: TestApp, code: string, rows: Record<string, unknown>[]) {
  const res = await h.as('steward', { method: 'PUT', url: `/api/v1/datasets/${code}/records`, payload: rows }, STEWARD)
  t.equal(res.statusCode, 200, 'ingested')
  t.equal(res.json().accepted, rows.length)
}

const stored = async (h: TestApp, code: string) => await h.database.db.selectFrom('records')
  .select(['record_key', 'person_key', 'person_digest', 'person_digest_key']).where('dataset_code', '=', code).orderBy('record_key').execute()

/** A grant on `code` to MATH, with every student of it consenting to its purpose. */
async function consentedGrant (h: TestApp, code: string, count: number) {
  const grant = (await insertGrant(h, { request: { dataset_code: code, fields: ['student_id', 'name', 'college'] }, grant: { fields: ['student_id', 'name', 'college'] } })).grant
  await sql`insert into purposes (code, name_zh, name_en, description, created_by) values ('advising', '学业指导', 'advising', 'test', 'fixture')`.execute(h.database.db)
  await sql`update grants set purpose_code = 'advising' where id = ${grant.id}`.execute(h.database.db)
  await sql`insert into consents (unit_code, person_key, dataset_code, purpose_code, kind, evidence, given_at, recorded_by)
    select 'CS', p, ${code}, 'advising', 'separate', 'signed form', now(), 'fixture'
      from unnest(${Array.from({ length: count }, (_, i) => person(i + 1))}::text[]) p`.execute(h.database.db)
  return grant
}

const accessSeqs = async (h: TestApp, key: string) =>
  ((await h.as('auditor', { method: 'GET', url: `/api/v1/audit/persons/${key}/accesses` }, { unit: 'OFFICE', sub: 'auditor-li' })).json().data as { seq: string }[]).map((a) => a.seq)

t.test('ingest stores the digest of each person key of a traced dataset; reads take it from the row', async (t) => {
  const h = await build(t)
  await insertDataset(h, { code: 'health', subject: 'health records', sensitive_pi: true })
  await insertDataset(h, { code: 'roster', subject: 'class roster' })
  await ingest(t, h, 'health', [1, 2, 3, 4].map(studentRow))
  await ingest(t, h, 'roster', [1, 2].map(studentRow))
  const tracer = personTracerOf(h.config)

  const health = await stored(h, 'health')
  t.same(health.map((r) => hex(r.person_digest)), [1, 2, 3, 4].map((n) => tracer.of({ holds_pi: true, sensitive_pi: true, children_pi: false, person_key: 'student_id' })!.digest(person(n)).toString('hex')),
    'each record: the keyed digest of its person key')
  t.ok(health.every((r) => r.person_digest_key === tracer.keyId), 'under the trace key of this deployment')
  t.ok((await stored(h, 'roster')).every((r) => r.person_digest === null && r.person_digest_key === null), 'a dataset whose reads are not traced (AUDIT_PERSON_TRACE=sensitive) stores none')

  const grant = await consentedGrant(h, 'health', 4)
  const read = async (query: string) => {
    const res = await h.as('consumer', { method: 'GET', url: `/api/v1/data/health/records?grant=${grant.id}${query}` }, MATH)
    t.equal(res.statusCode, 200, 'read')
    return res.headers['x-audit-event'] as string
  }
  const first = await read('&limit=2')
  t.ok((await accessSeqs(h, person(1))).includes(first), 'the read is found by the person it served')
  t.notOk((await accessSeqs(h, person(3))).includes(first), 'and not by one it did not')

  // the stored digest is what the read records: a record whose digest names another person is traced as that person
  const other = await h.database.db.selectFrom('records').select('person_digest').where('dataset_code', '=', 'health').where('record_key', '=', person(4)).executeTakeFirstOrThrow()
  await sql`update records set person_digest = ${other.person_digest} where dataset_code = 'health' and record_key = ${person(3)}`.execute(h.database.db)
  const second = await read(`&where[student_id]=${person(3)}`)
  t.ok((await accessSeqs(h, person(4))).includes(second), 'the digest made at ingest is taken as it is, not made again')

  // under another trace key (a rotated master key), or none: the read makes the digest itself
  await sql`update records set person_digest_key = ${tracer.keyId ^ 1} where dataset_code = 'health' and record_key = ${person(3)}`.execute(h.database.db)
  await sql`update records set person_digest = null, person_digest_key = null where dataset_code = 'health' and record_key = ${person(2)}`.execute(h.database.db)
  const third = await read('&limit=3')
  for (const n of [1, 2, 3]) t.ok((await accessSeqs(h, person(n))).includes(third), `person ${n} finds the read`)
  t.notOk((await accessSeqs(h, person(4))).includes(third), 'a digest under another key is not used')

  // a new person key: a new digest
  await ingest(t, h, 'health', [{ ...studentRow(3), student_id: person(3) }])
  const again = (await stored(h, 'health')).find((r) => r.record_key === person(3))!
  t.same([hex(again.person_digest), again.person_digest_key], [hex(health[2]!.person_digest), tracer.keyId], 'stored again: the digest of its person key under the current key')
})

t.test('records stored without a digest, or under another trace key, get one from the backfill', async (t) => {
  const h = await build(t, { env: { ENCRYPTION_SWEEP_SECONDS: '0' } }) // this test runs the backfill itself
  await insertDataset(h, { code: 'health', subject: 'health records', sensitive_pi: true })
  await insertDataset(h, { code: 'roster', subject: 'class roster' })
  await ingest(t, h, 'health', [1, 2, 3, 4, 5].map(studentRow))
  await ingest(t, h, 'roster', [1, 2].map(studentRow))
  const tracer = personTracerOf(h.config)
  const digestOf = (n: number) => tracer.of({ holds_pi: true, sensitive_pi: true, children_pi: false, person_key: 'student_id' })!.digest(person(n)).toString('hex')
  // as a release before 0025 stored them, and one under a rotated master key's trace key
  await sql`update records set person_digest = null, person_digest_key = null where dataset_code = 'health' and record_key <> ${person(5)}`.execute(h.database.db)
  await sql`update records set person_digest = '\\x00'::bytea, person_digest_key = ${tracer.keyId ^ 1} where dataset_code = 'health' and record_key = ${person(4)}`.execute(h.database.db)
  const before = (await stored(h, 'health')).find((r) => r.record_key === person(5))!

  const done = new Set<string>()
  const filled = await backfillPersonDigests(h.database.db, tracer, done)
  t.same(filled, [{ dataset: 'health', records: 4 }], 'the four records without a digest under the current key, nothing else')
  const health = await stored(h, 'health')
  t.same(health.map((r) => hex(r.person_digest)), [1, 2, 3, 4, 5].map(digestOf), 'each: the keyed digest of its person key')
  t.ok(health.every((r) => r.person_digest_key === tracer.keyId), 'under the current trace key')
  t.same(health.find((r) => r.record_key === person(5)), before, 'a record ingest digested is left as it was')
  t.ok((await stored(h, 'roster')).every((r) => r.person_digest === null && r.person_digest_key === null), 'a dataset whose reads are not traced gets none')

  // a process does not scan a dataset again once it brought it to the key
  await sql`update records set person_digest = null, person_digest_key = null where dataset_code = 'health' and record_key = ${person(1)}`.execute(h.database.db)
  t.same(await backfillPersonDigests(h.database.db, tracer, done), [], 'done in this process: not scanned again')
  t.same(await backfillPersonDigests(h.database.db, tracer, new Set()), [{ dataset: 'health', records: 1 }], 'another process (or a restart) scans it')

  // an aborted run stops before its next batch
  await sql`update records set person_digest = null, person_digest_key = null where dataset_code = 'health'`.execute(h.database.db)
  const aborted = new AbortController()
  aborted.abort()
  t.same(await backfillPersonDigests(h.database.db, tracer, new Set(), { signal: aborted.signal }), [], 'stopped')
  t.ok((await stored(h, 'health')).every((r) => r.person_digest === null), 'nothing written once aborted')
})

t.test('the catalog process runs the backfill with the encryption sweep', async (t) => {
  const h = await build(t, { env: { ENCRYPTION_SWEEP_SECONDS: '1' } })
  // stored while its reads were not traced (no digest), then marked as holding sensitive PI: a
  // dataset the backfill skipped is looked at again by its next run
  await insertDataset(h, { code: 'health', subject: 'health records' })
  await ingest(t, h, 'health', [1, 2].map(studentRow))
  t.ok((await stored(h, 'health')).every((r) => r.person_digest === null), 'not traced yet: no digest')
  await sql`update datasets set sensitive_pi = true where code = 'health'`.execute(h.database.db)
  const tracer = personTracerOf(h.config)
  // the sweep runs every second: wait (up to a minute, for a loaded machine) for the digests it makes
  let rows = await stored(h, 'health')
  for (let i = 0; i < 600 && !rows.every((r) => r.person_digest_key === tracer.keyId); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    rows = await stored(h, 'health')
  }
  t.ok(rows.every((r) => r.person_digest_key === tracer.keyId && r.person_digest !== null), 'both records got their digest')
})
