import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { ConfigError, type Config } from './config.js'
import { createDatabase } from './db/create-db.js'
import { migrateToLatest, pendingMigrations } from './db/migrator.js'
import { loadSigningKey, loadVerificationKey } from './platform/auth/keys.js'
import { loggerOptions } from './platform/logging.js'
import { heapLimitNotice } from './platform/memory.js'
import type { RunMode } from './services.js'

/**
 * Starts one process of the platform. All-in-one migrates at start-up; a distributed process refuses
 * to start on a stale schema (run `datagate migrate` first). SIGTERM/SIGINT close gracefully: the
 * listener stops, in-flight requests finish, then the database closes.
 */
export async function serve (config: Config, mode: RunMode): Promise<FastifyInstance> {
  const log = pino(loggerOptions(config.LOG_LEVEL) as pino.LoggerOptions)
  if (mode !== 'all' && !config.DATABASE_URL) {
    throw new Error(`"serve ${mode}" is the distributed mode and needs DATABASE_URL (PostgreSQL); use "serve all" for embedded PGlite`)
  }
  const https = loadTls(config) // a bad certificate stops the start before the database opens
  // the app's many modules load while the database opens (a first embedded start runs initdb)
  const app$ = import('./app.js')
  app$.catch(() => {}) // awaited below; only a failed database open would leave it unobserved
  const database = await createDatabase(config, log)
  try {
    const { buildApp } = await app$
    if (mode === 'all') {
      const applied = await migrateToLatest(database.db)
      for (const m of applied) log.info({ migration: m.migrationName, status: m.status }, 'migration')
    } else {
      const pending = await pendingMigrations(database.db)
      if (pending.length > 0) throw new Error(`the database schema is not current (pending: ${pending.join(', ')}): run "datagate migrate" first`)
    }
    const signing = loadSigningKey(config, { generate: mode === 'all' || mode === 'gateway' })
    const app = await buildApp({ config, database, mode, keys: { signing, verification: loadVerificationKey(config, signing) }, logger: log, ...(https ? { https } : {}) })
    const closeListeners = closeWithGrace({ delay: config.REQUEST_TIMEOUT_MS + 1000 }, async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'closing after an uncaught error')
      else app.log.info({ signal }, 'shutting down')
      // Node closes idle keep-alive connections once, when closing starts. A connection whose request
      // was in flight then turns idle later and would hold close() open for the whole keep-alive
      // timeout (72 s: longer than the grace delay), so sweep until the last one is gone.
      const sweep = setInterval(() => { app.server.closeIdleConnections() }, 100)
      try {
        await app.close()
      } finally {
        clearInterval(sweep)
      }
    })
    app.addHook('onClose', async () => { closeListeners.uninstall() })
    const heap = heapLimitNotice()
    app.log[heap.level]({ heapLimitMb: heap.heapLimitMb }, heap.msg)
    try {
      await app.listen({ port: config.PORT, host: config.HOST })
    } catch (err) {
      await app.close()
      throw err
    }
    return app
  } catch (err) {
    await database.close().catch(() => {})
    throw err
  }
}

/**
 * HTTPS material from TLS_CERT_FILE and TLS_KEY_FILE (config checks that both or neither are set),
 * read and tried as a pair at start-up, so that a wrong file is a clear configuration error rather
 * than a failed handshake later. Undefined for plain HTTP.
 */
export function loadTls (config: Pick<Config, 'TLS_CERT_FILE' | 'TLS_KEY_FILE'>): { cert: Buffer, key: Buffer } | undefined {
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) return undefined
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new ConfigError([`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`])
    }
  }
  const cert = read('TLS_CERT_FILE', config.TLS_CERT_FILE)
  const key = read('TLS_KEY_FILE', config.TLS_KEY_FILE)
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    throw new ConfigError([`TLS_CERT_FILE, TLS_KEY_FILE: not a PEM certificate and its private key (${(err as Error).message})`])
  }
  return { cert, key }
}
