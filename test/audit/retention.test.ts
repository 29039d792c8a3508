// Retention by monthly partitions (R6.1): old events are written behind the application's back by
// writers whose clock was moved back, land in the DEFAULT partition, and are moved into their months
// by audit_ensure_partitions, as the hourly maintenance does.
import { sql } from 'kysely'
import t from 'tap'
import { auditLogOf, type AuditLog } from '../../src/audit/log-plugin.js'
import { expiredMonths } from '../../src/audit/retention.js'
import { createAuditWriter } from '../../src/audit/writer.js'
import { build, type TestApp } from '../helpers/build.js'

const DAY = 86_400_000

/** The first instant of the UTC month `offset` months from the month of `at`. */
const month = (at: Date, offset = 0) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1))
const partitionOf = (at: Date) => `audit_events_${at.getUTCFullYear()}_${String(at.getUTCMonth() + 1).padStart(2, '0')}`

const event = (i: number) => ({ action: 'query' as const, operation: 'records.read', actor: { sub: `u${i}`, unit: 'CS' }, dataset: 'students', rows: i })

/** `count` events recorded at `at`, by a writer whose clock stands there, after every earlier one. */
async function recordAt (h: TestApp, at: Date, count: number) {
  const past = createAuditWriter({
    db: h.database.db, hash: 'sha256', signingKey: h.key, checkpointEvents: 1000, checkpointSeconds: 60, now: () => at
  })
  for (let i = 0; i < count; i++) await past.append(event(i))
}

async function history (h: TestApp, { old, young, ageDays }: { old: number, young: number, ageDays: number }): Promise<AuditLog> {
  const log = auditLogOf(h.database.db)!
  await recordAt(h, new Date(Date.now() - ageDays * DAY), old)
  for (let i = 0; i < young; i++) await log.append(event(i))
  await log.repository.ensurePartitions()
  return log
}

const count = async (h: TestApp, table = 'audit_events') =>
  (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(h.database.db)).rows[0]!.n

const names = async (log: AuditLog) => (await log.repository.partitions()).map((p) => p.name)

t.test('a month older than the cutoff goes whole, the month straddling it stays whole, and the rest verifies from the boundary', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  const cutoff = new Date(Date.now() - 180 * DAY)
  const straddling = month(cutoff)
  const older = [month(cutoff, -2), month(cutoff, -1)]
  await recordAt(h, new Date(older[0]!.getTime() + DAY), 3)
  await recordAt(h, new Date(older[1]!.getTime() + 2 * DAY), 4)
  // older than the cutoff, but its month is not over by then
  await recordAt(h, new Date((straddling.getTime() + cutoff.getTime()) / 2), 5)
  for (let i = 0; i < 2; i++) await log.append(event(i))
  t.equal(await count(h, 'audit_events_default'), 12, 'months without a partition land in DEFAULT')
  t.same((await log.repository.ensurePartitions()).sort(), [...older, straddling].map(partitionOf).sort(), 'their months are created')
  t.equal(await count(h, 'audit_events_default'), 0, 'and the events moved there')
  t.match(await log.verify(), { ok: true, checked: 14 }, 'moved intact')

  const result = await log.purge()
  t.same(result, { deleted: 7, through: '7', cutoff: result.cutoff, partitions: older.map(partitionOf) })
  t.notOk((await names(log)).some((n) => older.map(partitionOf).includes(n)), 'the old months are dropped')
  t.ok((await names(log)).includes(partitionOf(straddling)), 'the straddling month is kept')
  t.equal(await count(h), 5 + 2 + 1, 'the straddling and young events, and the purge event itself')
  const cps = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/checkpoints' })).json()
  t.match(cps.data, [{ seq: 7, reason: 'purge' }])
  const verify = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/verify' })).json()
  t.match(verify, { ok: true, from: 8, checked: 8, firstBroken: null })
  const purges = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events?action=purge' })).json()
  t.match(purges.data, [{ actor: { sub: 'datagate' }, rows: 7, details: { through: '7', retentionDays: 180, partitions: older.map(partitionOf) } }])
  t.match(await log.purge(), { deleted: 0, partitions: [] }, 'nothing more to purge')

  // with the boundary checkpoint gone too, the start of the chain can no longer be vouched for
  await sql.raw('alter table audit_checkpoints disable trigger audit_checkpoints_append_only').execute(h.database.db)
  await sql`delete from audit_checkpoints where seq = 7`.execute(h.database.db)
  t.match(await log.verify(), { ok: false, firstBroken: 8, reason: /no signed checkpoint/ })
})

t.test('nothing younger than 180 days or AUDIT_RETENTION_DAYS goes', async (t) => {
  await t.test('179 days old stays', async (t) => {
    const h = await build(t)
    const log = await history(h, { old: 4, young: 1, ageDays: 179 })
    t.match(await log.purge(), { deleted: 0, through: null })
    t.equal(await count(h), 5)
  })
  await t.test('AUDIT_RETENTION_DAYS=365 keeps a 250-day-old month', async (t) => {
    const h = await build(t, { env: { AUDIT_RETENTION_DAYS: '365' } })
    const log = await history(h, { old: 4, young: 1, ageDays: 250 })
    t.match(await log.purge(), { deleted: 0 })
    t.equal(await count(h), 5)
  })
  await t.test('AUDIT_RETENTION_DAYS below 180 is refused at start-up', async (t) => {
    await t.rejects(build(t, { env: { AUDIT_RETENTION_DAYS: '90' } }), /AUDIT_RETENTION_DAYS/)
  })
  await t.test('the database refuses a young month, whatever the caller thinks the date is', async (t) => {
    const h = await build(t)
    const log = await history(h, { old: 3, young: 2, ageDays: 250 })
    await t.rejects(log.purge(new Date(Date.now() + 400 * DAY)), /last 180 days: refused/)
    t.equal(await count(h), 5, 'nothing went, not even the old month (one transaction)')
    t.equal((await log.repository.checkpoints()).length, 0, 'nor did the boundary checkpoint stay')
    const current = partitionOf(new Date())
    await t.rejects(h.database.db.transaction().execute(async (trx) => await log.repository.dropPartitions(trx, [current], null)),
      /last 180 days: refused/)
    await t.rejects(h.database.db.transaction().execute(async (trx) => await log.repository.dropPartitions(trx, ['audit_events_default'], null)),
      /refused/, 'nor DEFAULT')
  })
  await t.test('the database drops no month holding events after the signed boundary', async (t) => {
    const h = await build(t)
    const log = await history(h, { old: 3, young: 2, ageDays: 250 })
    const old = partitionOf(new Date(Date.now() - 250 * DAY))
    await t.rejects(h.database.db.transaction().execute(async (trx) => await log.repository.dropPartitions(trx, [old], '3')),
      /no checkpoint at 3/)
    await t.rejects(h.database.db.transaction().execute(async (trx) => await log.repository.dropPartitions(trx, [old], null)),
      /holds events after/)
  })
  await t.test('a broken chain is never purged', async (t) => {
    const h = await build(t)
    const log = await history(h, { old: 6, young: 1, ageDays: 250 })
    await sql.raw('alter table audit_events disable trigger audit_events_append_only').execute(h.database.db)
    await sql`update audit_events set actor_sub = 'x' where seq = 2`.execute(h.database.db)
    await sql.raw('alter table audit_events enable trigger audit_events_append_only').execute(h.database.db)
    await t.rejects(log.purge(), /broken at 2/)
    t.equal(await count(h), 7)
  })
})

t.test('only a prefix of the chain goes, even when a clock put events in the wrong month', async (t) => {
  const at = (m: string) => `2026-${m}-01T00:00:00.000000Z`
  const part = (name: string, from: string, to: string, firstSeq: string | null, lastSeq: string | null) => ({ name, from: at(from), to: at(to), firstSeq, lastSeq })
  const cutoff = '2026-05-15T00:00:00.000000Z'
  const months = [part('m02', '02', '03', '1', '10'), part('m03', '03', '04', '11', '22'), part('m04', '04', '05', null, null), part('m05', '05', '06', '21', '30')]
  const fallback = { name: 'audit_events_default', from: null, to: null, firstSeq: null, lastSeq: null }
  t.same(expiredMonths([...months, fallback], cutoff), { names: ['m02'], through: '10' }, 'm03 holds 22 while the kept m05 starts at 21')
  t.same(expiredMonths([months[0]!, months[2]!, months[3]!, fallback], cutoff), { names: ['m02', 'm04'], through: '10' }, 'an empty month goes too')
  t.same(expiredMonths([months[0]!, { ...fallback, firstSeq: '5', lastSeq: '5' }], cutoff), { names: [], through: null }, 'an event in DEFAULT holds the rest back')
  t.same(expiredMonths([months[3]!], cutoff), { names: [], through: null }, 'the month of the cutoff stays')
})

t.test('partitions exist ahead, are created once when several processes ask at once, and refuse changes', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  const now = new Date()
  const ahead = [month(now), month(now, 1)].map(partitionOf)
  t.same((await names(log)).filter((n) => ahead.includes(n)), ahead, 'this month and the next exist once the app is up')
  t.same(await log.repository.ensurePartitions(), [], 'a second call has nothing to do')

  const further = [month(now, 2), month(now, 3)].map(partitionOf)
  const created = await Promise.all(Array.from({ length: 8 }, async () => await log.repository.ensurePartitions(3)))
  t.same(created.flat().sort(), further, 'each month created by exactly one caller')
  const all = await names(log)
  t.equal(new Set(all).size, all.length)
  t.equal(all.at(-1), 'audit_events_default', 'DEFAULT last')
  const triggers = await sql<{ table: string, name: string }>`
    select tgrelid::regclass::text as table, tgname as name from pg_trigger
     where tgrelid = any(${all}::regclass[]) and tgname like 'audit_events%' order by 1, 2`.execute(h.database.db)
  for (const table of all) {
    t.same(triggers.rows.filter((r) => r.table === table).map((r) => r.name), ['audit_events_append_only', 'audit_events_no_truncate'], table)
  }

  for (let i = 0; i < 3; i++) await log.append(event(i))
  // row triggers fire only on rows: the empty partitions show theirs in the listing above
  const statements = (table: string, rows: boolean) => [...(rows ? [`update ${table} set actor_sub = 'x'`, `delete from ${table}`] : []), `truncate ${table}`]
  for (const [table, rows] of [['audit_events', true], [partitionOf(now), true], [further[1]!, false], ['audit_events_default', false]] as const) {
    for (const statement of statements(table, rows)) await t.rejects(sql.raw(statement).execute(h.database.db), /append-only/, statement)
  }
  t.match(await log.verify(), { ok: true, checked: 3 })
})

t.test('an event a clock put in no month waits in DEFAULT until the maintenance moves it', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  const far = month(new Date(), 40)
  await log.append(event(0))
  await recordAt(h, new Date(far.getTime() + DAY), 2)
  t.equal(await count(h, 'audit_events_default'), 2)
  t.same(await log.repository.ensurePartitions(), [partitionOf(far)])
  t.equal(await count(h, 'audit_events_default'), 0)
  t.equal(await count(h, partitionOf(far)), 2)
  t.match(await log.verify(), { ok: true, checked: 3 })
  await t.rejects(sql.raw('truncate audit_events_default').execute(h.database.db), /append-only/, 'the new DEFAULT is guarded too')
})
