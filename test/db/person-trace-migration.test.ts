// migrations/0026_person_trace_per_event.ts on a database of the release before it: the person
// traces of 0020 (a row per person and event, 32-byte digests) become a row per event (16-byte
// digests under their prefixes) and are found beside the traces written after the upgrade; down
// moves them back into audit_person_accesses, and up again.
import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { createPersonAccessRepository } from '../../src/audit/persons/repository.js'
import { createAuditWriter } from '../../src/audit/writer.js'
import { createMigrator, migrateToLatest } from '../../src/db/migrator.js'
import { databaseBefore } from '../helpers/older-database.js'

const digest = (n: number) => createHash('sha256').update(`person ${n}`).digest()
const hex = (...digests: Buffer[]) => Buffer.concat(digests).toString('hex')

t.test('the traces of 0020 stay findable beside new ones; down and up again', async (t) => {
  const { db, handle, before } = await databaseBefore(t, '0026_person_trace_per_event')
  const at = new Date().toISOString()
  const event = (seq: number) => ({
    seq,
    occurred_at: at,
    recorded_at: at,
    service: 'gateway',
    action: 'query',
    operation: 'data.records.read',
    outcome: 'success',
    actor_sub: 'u',
    actor_unit: 'CS',
    actor_roles: ['consumer'],
    dataset_code: 'health',
    row_count: 2,
    details: {},
    hash_alg: 'sha256',
    prev_hash: 'p',
    hash: `h${seq}`
  })
  // as audit_append of 0020 takes them: one hex string of 32-byte digests per event
  const traces = [{ s: 1, r: at, d: hex(digest(1), digest(2)) }, { s: 2, r: at, d: hex(digest(2)) }]
  await sql`select audit_append(0, ${'0'.repeat(64)}, ${JSON.stringify([event(1), event(2)])}::jsonb, '[]'::jsonb, ${JSON.stringify(traces)}::jsonb)`.execute(db)

  await migrateToLatest(handle.db)
  const moved = await sql<{ seq: string, prefixes: number[], digests: string }>`select seq::text, prefixes, encode(digests, 'hex') as digests from audit_person_reads order by seq`.execute(db)
  const stored = (d: Buffer) => ({ prefix: d.readInt32BE(0), digest: hex(d.subarray(0, 16)) })
  const asStored = (row: { prefixes: number[], digests: string }) => row.prefixes.map((prefix, i) => ({ prefix, digest: row.digests.slice(i * 32, i * 32 + 32) }))
  t.same(moved.rows.map((r) => r.seq), ['1', '2'], 'one row per event')
  t.same(new Set(asStored(moved.rows[0]!).map((p) => JSON.stringify(p))), new Set([digest(1), digest(2)].map((d) => JSON.stringify(stored(d)))), 'the first 16 bytes of each digest, under its prefix')
  t.same(asStored(moved.rows[1]!), [stored(digest(2))])
  t.notOk((await sql<{ found: string | null }>`select to_regclass('audit_person_accesses')::text as found`.execute(db)).rows[0]!.found, 'the old table is gone')
  await t.rejects(sql`update audit_person_reads set seq = 7 where seq = 1`.execute(db), /append-only/, 'moved rows are append-only too')

  const writer = createAuditWriter({ db: handle.db, hash: 'sha256', signingKey: null, checkpointEvents: 1000, checkpointSeconds: 60 })
  const { seq: third } = await writer.append({ action: 'query', operation: 'data.records.read', actor: { sub: 'u', unit: 'CS' }, dataset: 'health', rows: 1, persons: [digest(1)] })
  const repo = createPersonAccessRepository(handle.db)
  const found = async (n: number) => (await repo.accesses({ digests: [digest(n)], limit: 10 })).map((r) => r.seq)
  t.same(await found(1), [third, '1'], 'person 1: the read after the upgrade, then the one before')
  t.same(await found(2), ['2', '1'], 'person 2: both reads before the upgrade')
  t.same(await found(3), [], 'nobody else')

  const { error: down } = await createMigrator(handle.db).migrateTo(before)
  t.error(down, 'down')
  const back = await sql<{ seq: string, digest: string }>`select seq::text, encode(digest, 'hex') as digest from audit_person_accesses order by seq, digest`.execute(db)
  const row = (seq: string, d: Buffer) => ({ seq, digest: hex(d.subarray(0, 16)) })
  t.same(back.rows, [row('1', digest(1)), row('1', digest(2)), row('2', digest(2)), row(third, digest(1))].sort((a, b) => (a.seq + a.digest < b.seq + b.digest ? -1 : 1)),
    'down: a row per person and event again, 16 bytes each')

  await migrateToLatest(handle.db)
  t.same(await found(1), [third, '1'], 'up again: found as before')
  t.same(await found(2), ['2', '1'])
})
