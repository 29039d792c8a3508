import type { FastifyBaseLogger, FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import type { DatabaseHandle } from '../../src/db/create-db.js'
import { loadSigningKey, type SigningKey } from '../../src/platform/auth/keys.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { createTokenIssuer } from '../../src/platform/auth/token.js'
import type { RunMode } from '../../src/services.js'
import { watchAuditInvariant, type AuditWatch } from './audit-invariant.js'
import { freshDatabase, type TestDatabase } from './database.js'

/** The slice of a tap test the helpers need. */
export interface TestContext {
  teardown (fn: () => unknown): void
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  database: DatabaseHandle
  testDb: TestDatabase
  key: SigningKey
  /** "no data without audit": the data responses so far, checked in the audit log as the app closes */
  auditWatch: AuditWatch
  /** a valid token of this app's key */
  token (roles: Role[] | Role, claims?: { unit?: string, sub?: string, ttl?: number }): string
  /** inject with a bearer token of the given roles */
  as (roles: Role[] | Role, request: InjectOptions, claims?: { unit?: string, sub?: string }): Promise<LightMyRequestResponse>
}

/**
 * Environment of a test app: quiet, generous limits unless a test asks otherwise. No automatic
 * blacklisting: tests refuse the same caller many times on purpose (test/audit/blacklist.test.ts
 * turns it on).
 */
export function testConfig (dataDir: string, env: Record<string, string> = {}): Config {
  return loadConfig({ DATAGATE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', BLACKLIST_AUTO_MINUTES: '0', ...env })
}

/**
 * A fresh app on a fresh, migrated database (PGlite, or PostgreSQL when TEST_DATABASE_URL is set),
 * torn down with the test.
 */
export interface BuildOptions {
  env?: Record<string, string>
  mode?: RunMode
  /** a logger to capture what the app logs (default: silent) */
  logger?: FastifyBaseLogger
  /** registers extra routes before the app is ready (tests of platform behaviour) */
  extend?: (app: FastifyInstance) => void
  /** the database to build on (default: a fresh one); destroyed with the test either way */
  database?: TestDatabase
}

export async function build (t: TestContext, options: BuildOptions = {}): Promise<TestApp> {
  const testDb = options.database ?? await freshDatabase()
  const invariant: { watch?: AuditWatch } = {}
  // teardowns run last-registered first: this one after the app closed (and checked its data
  // responses against the audit log) and the database is gone
  t.teardown(() => { invariant.watch?.assert() })
  t.teardown(() => testDb.destroy())
  const config = testConfig(testDb.dataDir, { ...(testDb.url ? { DATABASE_URL: testDb.url } : {}), ...options.env })
  const database = await testDb.open()
  const key = loadSigningKey(config, { generate: true })!
  const app = await buildApp({ config, database, mode: options.mode ?? 'all', keys: { signing: key, verification: key }, logger: options.logger ?? false })
  t.teardown(() => app.close())
  const auditWatch = invariant.watch = watchAuditInvariant(app)
  app.addHook('preClose', async () => { await auditWatch.checkAndKeep(database.db) })
  options.extend?.(app)
  await app.ready()
  const issuer = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: config.JWT_MAX_TTL_S })
  const token: TestApp['token'] = (roles, claims = {}) => issuer.sign({
    sub: claims.sub ?? 'tester',
    unit: claims.unit ?? 'OFFICE',
    roles: Array.isArray(roles) ? roles : [roles]
  }, claims.ttl ?? 600)
  return {
    app,
    config,
    database,
    testDb,
    key,
    auditWatch,
    token,
    as: async (roles, request, claims) => await app.inject({
      ...request,
      headers: { ...request.headers, authorization: `Bearer ${token(roles, claims)}` }
    })
  }
}

/** Registers a unit through the API, as system_admin. */
export async function createUnit (t: TestApp, code: string, name = `Unit ${code}`) {
  const res = await t.as('system_admin', {
    method: 'POST',
    url: '/api/v1/units',
    payload: { code, name, officer: { name: `Officer of ${code}`, contact: `${code.toLowerCase()}@example.edu.cn` } }
  })
  if (res.statusCode !== 201) throw new Error(`creating unit ${code}: ${res.statusCode} ${res.body}`)
  return res.json()
}
