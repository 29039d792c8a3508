import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { createBlocklist, type BlockEntry, type Blocklist } from './blocklist.js'
import { createReloader } from './snapshot-reloader.js'

/** The process's blacklist: checked by the auth plugin on every request, reloaded from the database. */
export interface BlocklistHandle {
  check: Blocklist
  /** reloads now (after a change this process made); resolves once the new snapshot is in place, never rejects */
  refresh (): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    blocklist: BlocklistHandle
  }
}

export interface BlocklistOptions {
  /** the live entries (not lifted, not expired): one query, the same for every process */
  load: (db: Kysely<Database>) => Promise<BlockEntry[]>
  /** reload period: a change made by any process holds everywhere within about this long (default 500 ms) */
  refreshMs?: number
}

/**
 * Keeps an in-memory snapshot of the blacklist per process, so that checking it costs no query per
 * request: reloaded every `refreshMs` and at once after a local change. If a reload fails
 * (database down), the last snapshot stays in force and a warning is logged.
 */
async function blocklistPlugin (app: FastifyInstance, { load, refreshMs = 500 }: BlocklistOptions) {
  const check = createBlocklist()
  const reloader = createReloader({
    name: 'blacklist',
    refreshMs,
    log: app.log,
    reload: async () => {
      check.replace(await load(app.db))
      return check.size
    }
  })
  app.decorate('blocklist', { check, refresh: reloader.refresh })
  app.addHook('onReady', async () => {
    await reloader.refresh()
    reloader.start()
  })
  app.addHook('preClose', async () => { await reloader.stop() })
}

export default fp(blocklistPlugin, { name: 'blocklist', dependencies: ['db'], fastify: '5.x' })
