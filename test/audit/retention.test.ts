import { sql } from 'kysely'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { createAuditWriter } from '../../src/audit/writer.js'
import { build, type TestApp } from '../helpers/build.js'

const DAY = 86_400_000

/** `old` events recorded `ageDays` ago (a writer with a moved clock), then `young` ones now. */
async function history (h: TestApp, { old, young, ageDays }: { old: number, young: number, ageDays: number }) {
  const then = new Date(Date.now() - ageDays * DAY)
  const past = createAuditWriter({
    db: h.database.db, hash: 'sha256', signingKey: h.key, checkpointEvents: 1000, checkpointSeconds: 60, now: () => then
  })
  const log = auditLogOf(h.database.db)!
  const event = (i: number) => ({ action: 'query' as const, operation: 'records.read', actor: { sub: `u${i}`, unit: 'CS' }, dataset: 'students', rows: i })
  for (let i = 0; i < old; i++) await past.append(event(i))
  for (let i = 0; i < young; i++) await log.append(event(i))
  return log
}

const count = async (h: TestApp) =>
  (await h.database.db.selectFrom('audit_events').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n

t.test('the purge removes only events past retention, and the rest still verifies against the boundary checkpoint', async (t) => {
  const h = await build(t)
  const log = await history(h, { old: 10, young: 5, ageDays: 200 })
  const result = await log.purge()
  t.match(result, { deleted: 10, through: '10' })
  t.equal(await count(h), 5 + 1, 'the young events, and the purge event itself')
  const cps = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/checkpoints' })).json()
  t.match(cps.data, [{ seq: 10, reason: 'purge' }])
  const verify = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/verify' })).json()
  t.match(verify, { ok: true, from: 11, checked: 6, firstBroken: null })
  const purges = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events?action=purge' })).json()
  t.match(purges.data, [{ actor: { sub: 'datagate' }, rows: 10, details: { through: '10', retentionDays: 180 } }])
  t.match(await log.purge(), { deleted: 0 }, 'nothing more to purge')

  // with the boundary checkpoint gone too, the start of the chain can no longer be vouched for
  await sql.raw('alter table audit_checkpoints disable trigger audit_checkpoints_append_only').execute(h.database.db)
  await sql`delete from audit_checkpoints where seq = 10`.execute(h.database.db)
  t.match(await log.verify(), { ok: false, firstBroken: 11, reason: /no signed checkpoint/ })
})

t.test('nothing younger than 180 days or AUDIT_RETENTION_DAYS goes', async (t) => {
  await t.test('179 days old stays', async (t) => {
    const h = await build(t)
    const log = await history(h, { old: 4, young: 1, ageDays: 179 })
    t.match(await log.purge(), { deleted: 0, through: null })
    t.equal(await count(h), 5)
  })
  await t.test('AUDIT_RETENTION_DAYS=365 keeps a 200-day-old event', async (t) => {
    const h = await build(t, { env: { AUDIT_RETENTION_DAYS: '365' } })
    const log = await history(h, { old: 4, young: 1, ageDays: 200 })
    t.match(await log.purge(), { deleted: 0 })
  })
  await t.test('AUDIT_RETENTION_DAYS below 180 is refused at start-up', async (t) => {
    await t.rejects(build(t, { env: { AUDIT_RETENTION_DAYS: '90' } }), /AUDIT_RETENTION_DAYS/)
  })
  await t.test('a broken chain is never purged', async (t) => {
    const h = await build(t)
    const log = await history(h, { old: 6, young: 1, ageDays: 200 })
    await sql.raw('alter table audit_events disable trigger audit_events_append_only').execute(h.database.db)
    await sql`update audit_events set actor_sub = 'x' where seq = 2`.execute(h.database.db)
    await sql.raw('alter table audit_events enable trigger audit_events_append_only').execute(h.database.db)
    await t.rejects(log.purge(), /broken at 2/)
    t.equal(await count(h), 7)
  })
})
