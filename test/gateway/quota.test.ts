// The daily row quota counter (src/gateway/data/quota.ts) while a sync writes its counts: the rows
// being written are in neither the process's pending count nor the shared total until the write
// returns, and a read in between must still see them. The write is held open by a Kysely plugin, so
// the test controls the interleaving instead of depending on timing.
import t from 'tap'
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'
import { createQuotaCounter } from '../../src/gateway/data/quota.js'
import { campusToday } from '../../src/platform/calendar.js'
import { build } from '../helpers/build.js'
import { insertGrant } from '../helpers/grants.js'

/** Holds every result while closed; `reached` resolves when a held query has run. */
function gate () {
  let open = true
  let fail = false
  let release: () => void = () => {}
  let reached: () => void = () => {}
  const plugin: KyselyPlugin = {
    transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => args.node,
    async transformResult (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      if (open) return args.result
      const held = new Promise<void>((resolve) => { release = resolve })
      reached()
      await held
      if (fail) throw new Error('the write failed')
      return args.result
    }
  }
  return {
    plugin,
    /** closes the gate: the next query's result waits; resolves when it is held */
    close () {
      open = false
      return new Promise<void>((resolve) => { reached = resolve })
    },
    open (failing = false) { fail = failing; open = true; release() }
  }
}

t.test('rows a sync is writing still count against the quota', async (t) => {
  const h = await build(t)
  const { grant } = await insertGrant(h)
  const day = campusToday()
  const g = gate()
  const quota = createQuotaCounter(h.database.db.withPlugin(g.plugin))

  t.equal(await quota.reserve(grant.id, day, 120, 100), 100, 'the first 100 rows are granted')
  const held = g.close()
  const flushing = quota.flush()
  await held
  // the write of the 100 rows has run but not returned
  t.equal(await quota.used(grant.id, day), 100, 'used counts the rows being written')
  t.equal(await quota.reserve(grant.id, day, 120, 100), 20, 'a read meanwhile gets only what is left (20)')
  t.equal(await quota.reserve(grant.id, day, 120, 10), 0, 'and then nothing')
  g.open()
  await flushing
  t.equal(await quota.used(grant.id, day), 120, 'after the write: the shared total and the pending 20')
  await quota.flush()
  const row = await h.database.db.selectFrom('grant_usage').select('rows').where('grant_id', '=', grant.id).executeTakeFirstOrThrow()
  t.equal(Number(row.rows), 120, 'the table holds the 120 rows served')
  t.equal(await quota.reserve(grant.id, day, 120, 1), 0, 'the quota stays used up')
})

t.test('a write that fails keeps its rows counted and writes them at the next sync', async (t) => {
  const h = await build(t)
  const { grant } = await insertGrant(h)
  const day = campusToday()
  const g = gate()
  const quota = createQuotaCounter(h.database.db.withPlugin(g.plugin))

  t.equal(await quota.reserve(grant.id, day, 50, 30), 30)
  const held = g.close()
  const flushing = quota.flush()
  await held
  t.equal(await quota.used(grant.id, day), 30, 'counted while the write runs')
  g.open(true)
  await t.rejects(flushing, /the write failed/)
  t.equal(await quota.used(grant.id, day), 30, 'counted after it failed')
  t.equal(await quota.reserve(grant.id, day, 50, 50), 20, 'only the rest can be served')
  await quota.flush()
  // the failed statement's result was thrown away by the plugin, but the statement itself ran:
  // what the table holds is at least what was served, never less
  const row = await h.database.db.selectFrom('grant_usage').select('rows').where('grant_id', '=', grant.id).executeTakeFirstOrThrow()
  t.ok(Number(row.rows) >= 50, `the table holds at least the 50 rows served (${row.rows})`)
})
