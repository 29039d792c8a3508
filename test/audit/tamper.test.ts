// Tampering behind the application's back: each kind of change to the stored log is reported by
// GET /api/v1/audit/verify. The same SQL runs on PGlite and PostgreSQL as the database superuser,
// which must first disable the append-only trigger.
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { eventHash } from '../../src/audit/hash-chain.js'
import type { Database } from '../../src/db/database.js'
import { build, type TestApp } from '../helpers/build.js'
import { TEST_DATABASE_URL, adminQuery } from '../helpers/database.js'

/** 45 events; signed checkpoints at 10, 20, 30, 40 (AUDIT_CHECKPOINT_EVENTS=10). */
async function chain (t: Parameters<typeof build>[0]) {
  const h = await build(t, { env: { AUDIT_CHECKPOINT_EVENTS: '10' } })
  const log = auditLogOf(h.database.db)!
  for (let round = 0; round < 5; round++) {
    const size = round < 4 ? 10 : 5
    await Promise.all(Array.from({ length: size }, (_, i) => log.append({
      service: 'gateway',
      action: i % 3 === 0 ? 'denied' : 'query',
      operation: 'records.read',
      actor: { sub: `user-${i}`, unit: 'CS', roles: ['consumer'], client: i % 2 ? 'dgc_x' : null, ip: '10.0.0.1' },
      objectType: 'dataset',
      objectId: 'students',
      dataset: 'students',
      fields: ['student_id'],
      rows: round * 10 + i,
      grantId: 'g-1',
      requestId: `r-${round}-${i}`,
      details: { round, where: { college: 'CS' } }
    })))
  }
  return { h, log }
}

async function verify (h: TestApp, query = '') {
  const res = await h.as('auditor', { method: 'GET', url: `/api/v1/audit/verify${query}` })
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json() as { ok: boolean, checked: number, firstBroken: number | null, reason: string | null, checkpoints: number }
}

async function behindTheBack (db: Kysely<Database>, statements: string[]) {
  await sql.raw('alter table audit_events disable trigger audit_events_append_only').execute(db)
  await sql.raw('alter table audit_checkpoints disable trigger audit_checkpoints_append_only').execute(db)
  try {
    for (const s of statements) await sql.raw(s).execute(db)
  } finally {
    await sql.raw('alter table audit_events enable trigger audit_events_append_only').execute(db)
    await sql.raw('alter table audit_checkpoints enable trigger audit_checkpoints_append_only').execute(db)
  }
}

/** What an attacker who knows the algorithm does: recompute every hash from `from` on, and the head. */
async function recompute (h: TestApp, from: number) {
  const log = auditLogOf(h.database.db)!
  const events = await log.repository.chainPage(String(from - 2), null, 1000)
  let prev = events[0]!.hash
  const statements: string[] = []
  for (const e of events.slice(1)) {
    const { prevHash: _p, hash: _h, ...content } = e
    const hash = eventHash(e.hashAlg, prev, content)
    statements.push(`update audit_events set prev_hash = '${prev}', hash = '${hash}' where seq = ${e.seq}`)
    prev = hash
  }
  statements.push(`update audit_chain_head set hash = '${prev}'`)
  await behindTheBack(h.database.db, statements)
}

t.test('an intact chain verifies, in full and by range, with its signed checkpoints', async (t) => {
  const { h } = await chain(t)
  const all = await verify(h)
  t.match(all, { ok: true, firstBroken: null, reason: null })
  t.ok(all.checked >= 45)
  t.equal(all.checkpoints, 4)
  t.match(await verify(h, '?from=12&to=33'), { ok: true, checked: 22, checkpoints: 2 })
  const cps = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/checkpoints?limit=2' })).json()
  t.same(cps.data.map((c: { seq: number }) => c.seq), [10, 20])
  t.match(cps.data[0], { reason: 'events', algorithm: 'EdDSA', keyId: h.key.kid })
  t.type(cps.nextCursor, 'string')
})

const MUTATIONS: Record<string, string> = {
  occurred_at: "occurred_at + interval '1 microsecond'",
  recorded_at: "recorded_at - interval '1 second'",
  service: "service || 'x'",
  action: "'export'",
  operation: "'records.Read'",
  outcome: "'failure'",
  actor_sub: "'someone-else'",
  actor_unit: "'MATH'",
  actor_roles: "'{auditor}'",
  actor_client: "coalesce(actor_client, '') || 'y'",
  actor_ip: "'10.0.0.2'",
  object_type: "'unit'",
  object_id: "'staff'",
  dataset_code: "'staff'",
  fields: "'{student_id,id_number}'",
  row_count: 'row_count + 1',
  grant_id: "'g-2'",
  request_id: "'r-forged'",
  domain_event_id: '7',
  details: 'details || \'{"round": 9}\'::jsonb',
  hash_alg: "'sm3'",
  prev_hash: "left(prev_hash, 63) || case when right(prev_hash, 1) = '0' then '1' else '0' end",
  hash: "left(hash, 63) || case when right(hash, 1) = '0' then '1' else '0' end"
}

t.test('a change to any column of one event breaks the chain there', async (t) => {
  const { h } = await chain(t)
  const db = h.database.db
  await sql`create table audit_copy as select * from audit_events where seq = 15`.execute(db)
  for (const [column, expression] of Object.entries(MUTATIONS)) {
    await behindTheBack(db, [`update audit_events set ${column} = ${expression} where seq = 15`])
    const result = await verify(h)
    t.match(result, { ok: false, firstBroken: 15 }, `${column}: ${result.reason}`)
    await behindTheBack(db, [`update audit_events a set ${column} = c.${column} from audit_copy c where a.seq = c.seq`])
  }
  t.match(await verify(h), { ok: true }, 'restored')
})

t.test('deleted, reordered and inserted events are found', async (t) => {
  await t.test('a deleted middle event', async (t) => {
    const { h } = await chain(t)
    await behindTheBack(h.database.db, ['delete from audit_events where seq = 15'])
    t.match(await verify(h), { ok: false, firstBroken: 15, reason: /missing/ })
  })
  await t.test('two events swapped', async (t) => {
    const { h } = await chain(t)
    await behindTheBack(h.database.db, [
      'update audit_events set seq = -1 where seq = 15', 'update audit_events set seq = 15 where seq = 14',
      'update audit_events set seq = 14 where seq = -1'
    ])
    t.match(await verify(h), { ok: false, firstBroken: 14 })
  })
  await t.test('a forged event inserted in the middle', async (t) => {
    const { h, log } = await chain(t)
    const [before] = await log.repository.chainPage('19', '20', 1)
    const forged = { ...before!, seq: '21', actorSub: 'ghost', requestId: 'r-ghost', prevHash: before!.hash }
    const { prevHash: _p, hash: _h, ...content } = forged
    const hash = eventHash('sha256', before!.hash, content)
    await behindTheBack(h.database.db, [
      'update audit_events set seq = seq + 1000 where seq > 20', 'update audit_events set seq = seq - 999 where seq > 1000',
      `insert into audit_events select 21, occurred_at, recorded_at, service, action, operation, outcome, 'ghost', actor_unit,
         actor_roles, actor_client, actor_ip, object_type, object_id, dataset_code, fields, row_count, grant_id, 'r-ghost',
         domain_event_id, details, hash_alg, '${before!.hash}', '${hash}' from audit_events where seq = 20`
    ])
    const result = await verify(h)
    t.match(result, { ok: false, firstBroken: 22 }, 'the forged event links, the one after it no longer does')
  })
})

t.test('a recomputed chain and a truncated tail are caught by the signed checkpoints', async (t) => {
  await t.test('changed and recomputed', async (t) => {
    const { h } = await chain(t)
    await behindTheBack(h.database.db, ["update audit_events set actor_sub = 'someone-else' where seq = 15"])
    await recompute(h, 15)
    t.match(await verify(h), { ok: false, firstBroken: 20, reason: /signed checkpoint 20/ })
  })
  await t.test('truncated below the last checkpoint, head moved back', async (t) => {
    const { h } = await chain(t)
    const [e35] = await auditLogOf(h.database.db)!.repository.chainPage('34', '35', 1)
    await behindTheBack(h.database.db, ['delete from audit_events where seq > 35', `update audit_chain_head set seq = 35, hash = '${e35!.hash}'`])
    t.match(await verify(h), { ok: false, firstBroken: 36, reason: /truncated/ })
  })
  await t.test('truncated after the last checkpoint: the head tells', async (t) => {
    const { h } = await chain(t)
    await behindTheBack(h.database.db, ['delete from audit_events where seq > 43'])
    t.match(await verify(h), { ok: false, firstBroken: 44, reason: /truncated/ })
  })
  await t.test('a checkpoint rewritten to match', async (t) => {
    const { h } = await chain(t)
    await behindTheBack(h.database.db, ["update audit_checkpoints set head_hash = repeat('a', 64) where seq = 20"])
    t.match(await verify(h), { ok: false, firstBroken: 20, reason: /not signed/ })
  })
})

t.test('the database refuses UPDATE, DELETE and TRUNCATE of the log', async (t) => {
  const { h } = await chain(t)
  const db = h.database.db
  for (const statement of [
    "update audit_events set actor_sub = 'x' where seq = 3", 'delete from audit_events where seq = 3',
    'truncate audit_events', "update audit_checkpoints set reason = 'x'", 'delete from audit_checkpoints'
  ]) {
    await t.rejects(sql.raw(statement).execute(db), /append-only/, statement)
  }
  // every partition refuses on its own too (TRUNCATE triggers are per table); retention drops whole
  // months through audit_drop_partitions only (test/audit/retention.test.ts)
  const month = `audit_events_${new Date().toISOString().slice(0, 7).replace('-', '_')}`
  for (const statement of [`delete from ${month} where seq = 3`, `truncate ${month}`]) {
    await t.rejects(sql.raw(statement).execute(db), /append-only/, statement)
  }
  t.match(await verify(h), { ok: true, checked: 45 })
})

t.test('even the PostgreSQL superuser is refused while the trigger stands', { skip: TEST_DATABASE_URL ? false : 'needs PostgreSQL (TEST_DATABASE_URL)' }, async (t) => {
  const { h } = await chain(t)
  await t.rejects(adminQuery(h.testDb.url!, "update audit_events set outcome = 'success' where seq = 1"), /append-only/)
  await t.rejects(adminQuery(h.testDb.url!, 'delete from audit_events'), /append-only/)
})
