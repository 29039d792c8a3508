import type { FastifyInstance } from 'fastify'
import { sweepEncryption } from './sweep.js'

/**
 * Runs the encryption sweep (sweep.ts) once the process is ready, then every
 * `ENCRYPTION_SWEEP_SECONDS` (0: never): after an upgrade it seals the records stored in the
 * clear, and after a masking policy change it makes their kept masked forms again. Several
 * instances are safe: every batch is written under the dataset's row lock and skips what is done.
 * The timer stops when the app closes, after the sweep under way.
 */
export function startEncryptionSweeps (app: FastifyInstance) {
  const seconds = app.config.ENCRYPTION_SWEEP_SECONDS
  if (seconds === 0) return
  let sweeping: Promise<void> | null = null
  let closing = false
  const run = () => {
    if (sweeping || closing) return
    sweeping = sweepEncryption(app.db, app.encryption, (dataset, err) => {
      app.log.warn({ dataset, err: { message: (err as Error).message } }, 'encryption sweep: a dataset could not be swept')
    })
      .then((swept) => {
        const rewritten = swept.filter((s) => s.records > 0)
        if (rewritten.length > 0) app.log.info({ datasets: rewritten }, 'encryption sweep: records sealed or their masked forms made again')
      })
      .catch((err: Error) => { app.log.warn({ err: { message: err.message } }, 'encryption sweep failed') })
      .finally(() => { sweeping = null })
  }
  const timer = setInterval(run, seconds * 1000)
  timer.unref()
  app.addHook('onReady', async () => { setImmediate(run) })
  app.addHook('preClose', async () => {
    closing = true
    clearInterval(timer)
    await sweeping
  })
}
