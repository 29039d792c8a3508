import type { FastifyBaseLogger } from 'fastify'

/** While the database cannot be read, the last snapshot stays and this often a warning says so. */
const WARN_EVERY_MS = 60_000

export interface ReloaderOptions {
  /** what is reloaded, for the log: `blacklist`, `terminal control` */
  name: string
  /** reads the table and puts the new snapshot in place; answers its size, for the log */
  reload: () => Promise<number>
  /** reload period: a change made by any process holds everywhere within about this long */
  refreshMs: number
  log: FastifyBaseLogger
}

/**
 * Keeps an in-memory snapshot of a small table per process, so that checking it costs no query per
 * request: reloaded every `refreshMs` and at once when `refresh` is asked for (after a local change).
 * If a reload fails (database down), the last snapshot stays in force and a warning is logged.
 */
export function createReloader ({ name, reload, refreshMs, log }: ReloaderOptions) {
  let running = false
  let queued: Promise<void> | null = null
  let tail: Promise<void> = Promise.resolve()
  let failingSince: number | null = null
  let lastWarning = 0
  let timer: NodeJS.Timeout | undefined

  async function once () {
    running = true
    try {
      const entries = await reload()
      if (failingSince !== null) log.info({ entries }, `${name}: reloaded again`)
      failingSince = null
    } catch (err) {
      const now = Date.now()
      failingSince ??= now
      if (now - lastWarning >= WARN_EVERY_MS) {
        lastWarning = now
        log.warn({ err: { message: (err as Error).message }, staleForMs: now - failingSince }, `${name}: could not be reloaded; the last snapshot stays in force`)
      }
    } finally {
      running = false
    }
  }

  // one reload at a time; a refresh asked for while one runs queues exactly one more, which starts
  // after it and so sees every change committed before the ask
  function refresh (): Promise<void> {
    if (queued) return queued
    const next = tail.then(async () => { queued = null; await once() })
    queued = next
    tail = next
    return next
  }

  return {
    /** reloads now; resolves once the new snapshot is in place, never rejects */
    refresh,
    start () {
      timer = setInterval(() => { if (!running && !queued) refresh().catch(() => {}) }, refreshMs).unref()
    },
    async stop () {
      clearInterval(timer)
      await tail
    }
  }
}
