import type { FastifyInstance } from 'fastify'
import { personTracerOf } from '../../audit/index.js'
import { loadMaskingKey } from '../../masking/index.js'
import { exportsAndTracing } from '../exports/plugin.js'
import { createDataCache, type DataCache } from './cache.js'
import { createQuotaCounter, type QuotaCounter } from './quota.js'
import { createDataReader, type DataReader } from './reader.js'
import { auditRefusals, dataRoutes } from './routes.js'

export interface DataPath { reader: DataReader, cache: DataCache, quota: QuotaCounter }

declare module 'fastify' {
  interface FastifyInstance {
    /** the data path of this process, in its scope */
    dataPath: DataPath
  }
}

const paths = new WeakMap<object, DataPath>()
/** The data path running over a database handle, for code outside its scope (tests, benchmarks). */
export const dataPathOf = (db: object): DataPath | undefined => paths.get(db)

/**
 * The data-access API the gateway hosts itself, in all-in-one and gateway processes: reads under
 * grants (and the exports and leak tracing built on the same reader). Grants, datasets and policies
 * are cached in memory and dropped within DATA_CACHE_REFRESH_MS of any change anywhere; quotas are
 * counted in memory and shared through the database.
 */
export default async function dataPath (app: FastifyInstance) {
  const { config } = app
  const key = loadMaskingKey(config, { generate: true })
  const cache = createDataCache(app.db, { refreshMs: config.DATA_CACHE_REFRESH_MS })
  const quota = createQuotaCounter(app.db, { syncMs: config.DATA_QUOTA_SYNC_MS })
  const tracer = personTracerOf(config)
  const reader = createDataReader({ db: app.db, cache, key, encryption: app.encryption, tracer })
  app.decorate('dataPath', { reader, cache, quota })
  paths.set(app.db, app.dataPath)
  app.addHook('onReady', async () => {
    await cache.refresh().catch(() => {}) // trusted from the first successful poll on
    cache.start()
    quota.start()
  })
  app.addHook('preClose', async () => {
    await cache.stop()
    await quota.stop()
  })
  auditRefusals(app)
  await app.register(dataRoutes, { reader, quota, key, tracer, serverTiming: config.DATA_SERVER_TIMING })
  await app.register(exportsAndTracing, { reader, cache, quota, key, tracer })
}
