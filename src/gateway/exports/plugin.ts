import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { PersonTracer } from '../../audit/index.js'
import type { MaskingKey } from '../../masking/index.js'
import type { DataCache } from '../data/cache.js'
import type { QuotaCounter } from '../data/quota.js'
import type { DataReader } from '../data/reader.js'
import { watermarkRoutes } from '../watermarks/routes.js'
import { ensureDir } from './file-store.js'
import { createExportRepository } from './repository.js'
import { exportRoutes } from './routes.js'
import { createExportRunner, type ExportRunner } from './runner.js'

export interface ExportsOptions {
  reader: DataReader
  cache: DataCache
  quota: QuotaCounter
  key: MaskingKey
  tracer: PersonTracer
}

const runners = new WeakMap<object, { runner: ExportRunner, dir: string }>()
/** The export runner over a database handle, and its directory (tests). */
export const exportsOf = (db: object) => runners.get(db)

/**
 * Exports and leak tracing, on the data path's reader, cache and quotas: the routes, the jobs of
 * this process, and at start-up the failure of jobs a dead process left behind.
 */
export async function exportsAndTracing (app: FastifyInstance, { reader, cache, quota, key, tracer }: ExportsOptions) {
  const { config } = app
  const dir = config.EXPORT_DIR ? resolve(config.EXPORT_DIR) : join(config.dataDir, 'exports')
  const repo = createExportRepository(app.db)
  const suite = app.encryption.suite
  const runner = createExportRunner({
    reader,
    repo,
    cache,
    key,
    suite,
    dir,
    quota,
    tracer,
    audit: app.audit.append,
    decoyEvery: config.EXPORT_DECOY_EVERY,
    ttlHours: config.EXPORT_TTL_HOURS,
    log: app.log,
    exclusive: app.database.kind === 'pglite'
  })
  runners.set(app.db, { runner, dir })
  app.addHook('onReady', async () => {
    await ensureDir(dir)
    await runner.recover()
    runner.startTimer()
  })
  app.addHook('preClose', async () => {
    await runner.stop()
    await quota.flush().catch(() => {}) // what interrupted jobs gave back
  })
  await app.register(exportRoutes, { reader, cache, quota, key, suite, repo, runner, dir, maxRows: config.EXPORT_MAX_ROWS, concurrency: config.EXPORT_CONCURRENCY })
  await app.register(watermarkRoutes, { key, repo })
}
