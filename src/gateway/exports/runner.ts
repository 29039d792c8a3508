import type { FastifyBaseLogger } from 'fastify'
import type { ExportRow } from '../../db/database.js'
import { campusToday } from '../../platform/calendar.js'
import type { QuotaCounter } from '../data/quota.js'
import type { ReadPlan } from '../data/reader.js'
import { filesIn, removeFile } from './file-store.js'
import { JobStopped, runExport, type JobDeps } from './job.js'

/** How often a process says its jobs are alive, and looks for dead, expired and orphaned ones. */
export const HEARTBEAT_MS = 5000
/** Expired and orphaned files are looked for every this many heartbeats. */
const FILE_SWEEP_EVERY = 12

export interface RunnerDeps extends JobDeps {
  quota: QuotaCounter
  log: FastifyBaseLogger
  /** PGlite: one process owns the database, so whatever is running at start-up is dead */
  exclusive: boolean
}

/**
 * The export jobs of this process, run in the background after their POST answered. A job's
 * process writes its heartbeat every HEARTBEAT_MS; a job whose heartbeat is older than
 * STALE_SECONDS (its process was killed) is marked failed by whichever process looks next, and at
 * start-up every job that cannot be alive is. What a failed job was charged against its grant's
 * quota is given back. Files past EXPORT_TTL_HOURS are deleted, and so are files no live or
 * finished export owns.
 */
export function createExportRunner (deps: RunnerDeps) {
  const jobs = new Map<string, { abort: AbortController, done: Promise<void> }>()
  let timer: NodeJS.Timeout | undefined
  let ticking: Promise<void> | null = null
  let ticks = 0

  async function giveBack (grantId: string, day: string, rows: number) {
    if (rows <= 0 || day !== campusToday()) return
    await deps.quota.used(grantId, day) // loads the day's usage, so that the release counts
    deps.quota.release(grantId, day, rows)
  }

  function start (row: ExportRow, plan: ReadPlan) {
    const abort = new AbortController()
    const total = Number(row.rows_total)
    const done = (async () => {
      await new Promise((resolve) => setImmediate(resolve)) // after the 202 has left
      let written = 0
      try {
        if (!(await deps.repo.start(row.id))) return
        written = (await runExport(deps, row, plan, abort.signal)).rowsWritten
      } catch (err) {
        written = 0
        const reason = err instanceof JobStopped ? err.message : 'failed: the export could not be written; try again'
        if (!(err instanceof JobStopped)) deps.log.error({ err, export: row.id }, 'export: a job failed')
        await deps.repo.fail(row.id, reason).catch((e: unknown) => { deps.log.error({ err: e, export: row.id }, 'export: a failed job could not be recorded') })
      }
      await giveBack(row.grant_id, row.quota_day, total - written).catch(() => {})
    })().finally(() => { jobs.delete(row.id) })
    jobs.set(row.id, { abort, done })
  }

  async function failDead (all: boolean) {
    for (const dead of await deps.repo.failDead({ all, except: [...jobs.keys()] })) {
      deps.log.warn({ export: dead.id }, 'export: a job whose process stopped is marked failed')
      await giveBack(dead.grant_id, dead.quota_day, Number(dead.rows_total)).catch(() => {})
    }
  }

  async function sweepFiles () {
    for (const gone of await deps.repo.expire()) if (gone.file_name) await removeFile(deps.dir, gone.file_name)
    const files = await filesIn(deps.dir)
    const keep = await deps.repo.keepers(files.map((f) => f.id))
    for (const f of files) if (!keep.has(f.id) && !jobs.has(f.id)) await removeFile(deps.dir, f.fileName)
  }

  /** One round of the background work: heartbeats, dead jobs, and now and then files. */
  async function tick () {
    await deps.repo.heartbeat([...jobs.keys()])
    await failDead(false)
    if (ticks++ % FILE_SWEEP_EVERY === 0) await sweepFiles()
  }

  return {
    start,
    /** at start-up: jobs left behind by a process that died */
    recover: async () => { await failDead(deps.exclusive) },
    /** runs the background work now (tests) */
    sweep: async () => { await ticking; await tick(); await sweepFiles() },
    running: () => jobs.size,
    startTimer () {
      timer = setInterval(() => {
        if (ticking) return
        ticking = tick().catch((err: unknown) => { deps.log.error({ err }, 'export: background work failed') }).finally(() => { ticking = null })
      }, HEARTBEAT_MS)
      timer.unref()
    },
    /** stops every job (each is recorded as interrupted) and the background work */
    async stop () {
      clearInterval(timer)
      for (const job of jobs.values()) job.abort.abort()
      await Promise.all([...jobs.values()].map((j) => j.done))
      await ticking
    }
  }
}

export type ExportRunner = ReturnType<typeof createExportRunner>
