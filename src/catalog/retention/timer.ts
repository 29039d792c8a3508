import type { FastifyInstance } from 'fastify'
import { sweepRetention } from './sweep.js'

/**
 * Runs the retention sweep every `RETENTION_SWEEP_SECONDS` (0: never) in this process, on a timer
 * rather than on a request: nobody may be calling. Several instances are safe: the sweep runs
 * under an advisory lock. The timer stops when the app closes, after the sweep under way.
 */
export function startRetentionSweeps (app: FastifyInstance) {
  const seconds = app.config.RETENTION_SWEEP_SECONDS
  if (seconds === 0) return
  let sweeping: Promise<void> | null = null
  const timer = setInterval(() => {
    if (sweeping) return
    sweeping = sweepRetention(app.db)
      .then(({ opened }) => {
        if (opened.length > 0) app.log.info({ destructions: opened.map((o) => o.destruction), datasets: opened.map((o) => o.dataset) }, 'retention: destruction proposals opened')
      })
      .catch((err: Error) => { app.log.warn({ err: { message: err.message } }, 'retention sweep failed') })
      .finally(() => { sweeping = null })
  }, seconds * 1000)
  timer.unref()
  // before the database closes: a sweep under way finishes first
  app.addHook('preClose', async () => {
    clearInterval(timer)
    await sweeping
  })
}
