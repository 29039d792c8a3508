import rateLimit from '@fastify/rate-limit'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { liveBlacklist } from './audit/blacklist/repository.js'
import auditLog from './audit/log-plugin.js'
import { createSharingControl } from './authorization/index.js'
import { createDatasetDirectory } from './catalog/index.js'
import type { Config } from './config.js'
import type { DatabaseHandle } from './db/create-db.js'
import dbPlugin from './db/plugin.js'
import gateway from './gateway/plugin.js'
import dataPath from './gateway/data/plugin.js'
import openData from './gateway/open/plugin.js'
import encryption from './catalog/encryption/plugin.js'
import { loadMasterKeys } from './platform/masters.js'
import docs from './gateway/docs.js'
import blocklist from './platform/auth/blocklist-plugin.js'
import auth from './platform/auth/plugin.js'
import type { SigningKey, VerificationKey } from './platform/auth/keys.js'
import { createTokenIssuer } from './platform/auth/token.js'
import { clientRoutes } from './platform/clients/routes.js'
import { buildSerializer, validatorCompiler } from './platform/compilers.js'
import health from './platform/health.js'
import { loggerOptions } from './platform/logging.js'
import observability, { requestId } from './platform/observability.js'
import problem, { frameworkError } from './platform/problem.js'
import securityHeaders from './platform/security-headers.js'
import { SERVICES, SERVICE_ROUTES, type RunMode, type ServiceName } from './services.js'

export interface AppOptions {
  config: Config
  database: DatabaseHandle
  mode: RunMode
  keys: { signing: SigningKey | null, verification: VerificationKey }
  /** a pino instance to log to, or false for silence (tests); default: pino at LOG_LEVEL */
  logger?: FastifyBaseLogger | false
  /** the app closes the database on close (default true) */
  closeDatabase?: boolean
  /** serve HTTPS with this certificate (chain) and key, both PEM (server.ts reads TLS_CERT_FILE, TLS_KEY_FILE) */
  https?: { cert: Buffer, key: Buffer }
}

/** Builds the Fastify app of one run mode. It never listens: server.ts does. */
export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const { config, mode, keys } = options
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: options.logger ?? loggerOptions(config.LOG_LEVEL) }),
    genReqId: (req) => requestId(req.headers['x-request-id']),
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      // probes every few seconds would drown the log
      disableRequestLogging: (request) => request.url.startsWith('/health/')
    }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    routerOptions: { maxParamLength: 256 },
    schemaController: { compilersFactory: { buildSerializer } },
    // the router's own refusals (bad percent-encoding, over-long parameters) are problem documents too
    frameworkErrors: frameworkError,
    // an HTTPS server answers as the HTTP one does: the instance type stays the HTTP one
    ...(options.https ? { https: { ...options.https, minVersion: 'TLSv1.2' } } as unknown as object : {})
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler())
  app.decorate('config', config)

  // external and platform plugins, in load order
  await app.register(dbPlugin, { handle: options.database, close: options.closeDatabase ?? true })
  // what one service asks of another above it, wired here (platform/ports.ts, docs/architecture.md)
  app.decorate('ports', { datasets: createDatasetDirectory(app.db), sharing: createSharingControl(app.db) })
  await app.register(problem)
  await app.register(docs, { mode, enabled: config.DOCS_ENABLED }) // first, so that it sees every route
  await app.register(observability, {
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    service: mode,
    ...(options.database.poolStats ? { poolStats: options.database.poolStats } : {})
  })
  await app.register(securityHeaders)
  // the blacklist of every run mode: an in-memory snapshot of the audit service's table, checked by auth
  await app.register(blocklist, { load: liveBlacklist, refreshMs: config.BLACKLIST_REFRESH_MS })
  await app.register(auth, { config, key: keys.verification, blocklist: app.blocklist.check })
  await app.register(rateLimit, {
    global: true,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    hook: 'preHandler', // after authentication, so that callers are counted by identity, not address
    keyGenerator: (request) => request.principal ? `${request.principal.unit}/${request.principal.sub}` : `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) => Object.assign(
      new Error(`rate limit exceeded: at most ${context.max} requests per ${context.after}; retry later`),
      { statusCode: 429, code: 'RATE_LIMITED' }
    )
  })
  await app.register(health, { service: mode })
  // encryption at rest, where records are written or read, or counted under a filter on a sealed
  // field (a share request's persons): the master key is checked before anything is served
  if (mode === 'all' || mode === 'gateway' || mode === 'catalog' || mode === 'authorization') {
    await app.register(encryption, { masters: loadMasterKeys(config, { generate: mode === 'all' }), suite: config.DATAGATE_CIPHER })
  }

  // routes: every service this process serves, under /api/v1
  const served: ServiceName[] = mode === 'all' ? [...SERVICES] : mode === 'gateway' ? [] : [mode]
  await app.register(async (api) => {
    // every process that serves routes records its own changes, reads and denials in the audit log
    await api.register(auditLog)
    for (const service of served) {
      const routes = SERVICE_ROUTES[service]
      if (routes) await api.register(routes)
    }
    // the data-access API: hosted by the front door itself, in either topology
    if (mode === 'all' || mode === 'gateway') await api.register(dataPath)
    if ((mode === 'all' || mode === 'gateway') && keys.signing) {
      const issuer = createTokenIssuer(keys.signing, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: config.JWT_MAX_TTL_S })
      await api.register(clientRoutes, { issuer, tokenTtlSeconds: config.CLIENT_TOKEN_TTL_S })
    }
  }, { prefix: '/api/v1' })
  // the open data API: no token, its own rate limit, every download audited
  if (mode === 'all' || mode === 'gateway') await app.register(openData, { prefix: '/open/v1' })
  if (mode === 'gateway') await app.register(gateway, { config })

  return app
}
