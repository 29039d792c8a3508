import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { createBlocklist, type BlockEntry, type Blocklist } from './blocklist.js'

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

/** While the database cannot be read, the last snapshot stays and this often a warning says so. */
const WARN_EVERY_MS = 60_000

/**
 * Keeps an in-memory snapshot of the blacklist per process, so that checking it costs no query per
 * request: reloaded every `refreshMs` and at once after a local change. If a reload fails
 * (database down), the last snapshot stays in force and a warning is logged.
 */
async function blocklistPlugin (app: FastifyInstance, { load, refreshMs = 500 }: BlocklistOptions) {
  const check = createBlocklist()
  let running = false
  let queued: Promise<void> | null = null
  let tail: Promise<void> = Promise.resolve()
  let failingSince: number | null = null
  let lastWarning = 0

  async function reload () {
    running = true
    try {
      check.replace(await load(app.db))
      if (failingSince !== null) app.log.info({ entries: check.size }, 'blacklist: reloaded again')
      failingSince = null
    } catch (err) {
      const now = Date.now()
      failingSince ??= now
      if (now - lastWarning >= WARN_EVERY_MS) {
        lastWarning = now
        app.log.warn({ err: { message: (err as Error).message }, staleForMs: now - failingSince, entries: check.size },
          'blacklist: could not be reloaded; the last snapshot stays in force')
      }
    } finally {
      running = false
    }
  }

  // one reload at a time; a refresh asked for while one runs queues exactly one more, which starts
  // after it and so sees every change committed before the ask
  function refresh (): Promise<void> {
    if (queued) return queued
    const next = tail.then(async () => { queued = null; await reload() })
    queued = next
    tail = next
    return next
  }

  app.decorate('blocklist', { check, refresh })

  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    await refresh()
    timer = setInterval(() => { if (!running && !queued) refresh().catch(() => {}) }, refreshMs).unref()
  })
  app.addHook('preClose', async () => {
    clearInterval(timer)
    await tail
  })
}

export default fp(blocklistPlugin, { name: 'blocklist', dependencies: ['db'], fastify: '5.x' })
