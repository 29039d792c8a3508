import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'
import type { Logger } from 'pino'

/** How many processes `serve` runs: WORKERS, where 0 is one per core. */
export function workerCount (workers: number): number {
  return workers === 0 ? availableParallelism() : workers
}

export interface Supervision {
  /** resolves with the exit code once every worker has exited after a stop */
  done: Promise<number>
}

/**
 * The primary of `serve` with WORKERS > 1: forks `count` workers, each running this same command as a
 * whole platform process (`serve` in the worker), and listening on the one port (Node's cluster: the
 * primary accepts each connection and hands it to the next worker). It opens no database and serves
 * nothing itself. A worker that dies is replaced after a second; one that keeps dying (more than
 * `count` × 3 exits within a minute, a start-up that cannot succeed) stops the whole. SIGTERM or
 * SIGINT stop every worker gracefully (each finishes its requests in flight, as one process does)
 * and the primary exits when the last has.
 */
export function superviseWorkers (count: number, log: Logger, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Supervision {
  let stopping: number | null = null
  const exits: number[] = []
  let resolveDone!: (code: number) => void
  const done = new Promise<number>((resolve) => { resolveDone = resolve })
  const alive = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead())

  function stop (code: number) {
    if (stopping !== null) return
    stopping = code
    const workers = alive()
    if (workers.length === 0) resolveDone(code)
    for (const worker of workers) worker.process.kill('SIGTERM')
  }

  cluster.on('exit', (worker, code, signal) => {
    if (stopping !== null) {
      if (alive().length === 0) resolveDone(stopping)
      return
    }
    const now = Date.now()
    exits.push(now)
    while (exits[0]! < now - 60_000) exits.shift()
    if (exits.length > count * 3) {
      log.fatal({ exits: exits.length }, 'workers keep exiting: stopping')
      stop(1)
      return
    }
    log.error({ pid: worker.process.pid, code, signal }, 'a worker exited: starting another')
    setTimeout(() => { if (stopping === null) cluster.fork() }, 1000).unref()
  })
  for (const signal of signals) process.on(signal, () => { log.info({ signal }, 'stopping the workers'); stop(0) })
  for (let i = 0; i < count; i++) cluster.fork()
  log.info({ workers: count }, 'workers started')
  return { done }
}
