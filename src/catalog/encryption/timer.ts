import type { FastifyInstance } from 'fastify'
import { backfillPersonDigests } from '../../audit/index.js'
import { personTracerOf, type PersonTracer } from '../../audit/index.js'
import { sweepEncryption } from './sweep.js'

/**
 * Runs the encryption sweep (sweep.ts) once the process is ready, then every
 * `ENCRYPTION_SWEEP_SECONDS` (0: never): after an upgrade it seals the records stored in the
 * clear, and after a masking policy change it makes their kept masked forms again. Several
 * instances are safe: every batch is written under the dataset's row lock and skips what is done.
 * On PGlite (one connection) it rests between batches as long as each took, so that a large
 * backlog does not hold up the start-up and the requests. When the app closes the timer stops and
 * the sweep under way ends after its current batch (a sweep of many records would otherwise hold
 * the shutdown until it is done). Each run then makes the person digests ingest did not make
 * (audit/persons/backfill.ts), paced the same way.
 */
export function startEncryptionSweeps (app: FastifyInstance) {
  const seconds = app.config.ENCRYPTION_SWEEP_SECONDS
  if (seconds === 0) return
  let sweeping: Promise<void> | null = null
  const closing = new AbortController()
  const pace = { signal: closing.signal, rest: app.database.kind === 'pglite' ? 1 : 0 }
  let tracer: PersonTracer | undefined
  const digested = new Set<string>()
  const run = () => {
    if (sweeping || closing.signal.aborted) return
    sweeping = sweepEncryption(app.db, app.encryption, (dataset, err) => {
      app.log.warn({ dataset, err: { message: (err as Error).message } }, 'encryption sweep: a dataset could not be swept')
    }, pace)
      .then((swept) => {
        const rewritten = swept.filter((s) => s.records > 0)
        if (rewritten.length > 0) app.log.info({ datasets: rewritten }, 'encryption sweep: records sealed or their masked forms made again')
      })
      .catch((err: Error) => { app.log.warn({ err: { message: err.message } }, 'encryption sweep failed') })
      .then(async () => {
        const filled = await backfillPersonDigests(app.db, tracer ??= personTracerOf(app.config), digested, pace)
        if (filled.length > 0) app.log.info({ datasets: filled }, 'person digests made for records stored without one')
      })
      .catch((err: Error) => { app.log.warn({ err: { message: err.message } }, 'person digest backfill failed') })
      .finally(() => { sweeping = null })
  }
  const timer = setInterval(run, seconds * 1000)
  timer.unref()
  app.addHook('onReady', async () => { setImmediate(run) })
  app.addHook('preClose', async () => {
    closing.abort()
    clearInterval(timer)
    await sweeping
  })
}
