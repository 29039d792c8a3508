import type { FastifyInstance } from 'fastify'
import { runEvery } from '../../platform/timers.js'
import { sweepRetention } from './sweep.js'

/**
 * Runs the retention sweep every `RETENTION_SWEEP_SECONDS` (0: never) in this process, on a timer
 * rather than on a request: nobody may be calling. Several instances are safe: the sweep runs
 * under an advisory lock. The timer stops when the app closes, after the sweep under way.
 */
export function startRetentionSweeps (app: FastifyInstance) {
  runEvery(app, app.config.RETENTION_SWEEP_SECONDS, 'retention sweep', async () => {
    const { opened } = await sweepRetention(app.db)
    if (opened.length > 0) app.log.info({ destructions: opened.map((o) => o.destruction), datasets: opened.map((o) => o.dataset) }, 'retention: destruction proposals opened')
  })
}
