import type { FastifyInstance } from 'fastify'

/**
 * Runs `task` every `seconds` in this process (0: never): deadline and retention sweeps run on a
 * timer rather than on a request, since nobody may be calling. One run at a time; a failed run is
 * logged as `<what> failed` (its message only) and the next one tries again. The timer stops when
 * the app closes, after the run under way and before the database closes.
 */
export function runEvery (app: FastifyInstance, seconds: number, what: string, task: () => Promise<void>): void {
  if (seconds === 0) return
  let running: Promise<void> | null = null
  const timer = setInterval(() => {
    if (running) return
    running = task()
      .catch((err: Error) => { app.log.warn({ err: { message: err.message } }, `${what} failed`) })
      .finally(() => { running = null })
  }, seconds * 1000)
  timer.unref()
  app.addHook('preClose', async () => {
    clearInterval(timer)
    await running
  })
}
