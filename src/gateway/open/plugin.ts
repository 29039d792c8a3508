import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { auditLogOf } from '../../audit/index.js'
import { personTracerOf } from '../../audit/index.js'
import { loadMaskingKey } from '../../masking/index.js'
import { createPublicViews } from './public-view.js'
import { auditRefusals } from './refusals.js'
import { createOpenDataRepository } from './repository.js'
import { openRoutes } from './routes.js'

/**
 * The open data API at /open/v1, hosted by the front door (all-in-one and gateway processes): the
 * open catalog and unconditional-open downloads, for the public, with no token. It reads the
 * catalog, records and masking policies in-process, writes to the audit log of this process (the
 * one the /api/v1 scope runs), and has its own per-address rate limit.
 */
async function openData (app: FastifyInstance) {
  const { config } = app
  const log = auditLogOf(app.db)
  if (!log) throw new Error('the open data API records every download: register the audit log (the /api/v1 scope) first')
  const key = loadMaskingKey(config, { generate: true })
  // one counter per address for both routes together: a scraper cannot double its budget
  const limit = app.rateLimit({
    max: config.OPEN_RATE_LIMIT_MAX,
    timeWindow: config.OPEN_RATE_LIMIT_WINDOW_MS,
    keyGenerator: (request) => `open:${normalizeIP(request.ip)}`
  }) as onRequestAsyncHookHandler
  auditRefusals(app, log)
  await app.register(openRoutes, {
    repo: createOpenDataRepository(app.db),
    views: createPublicViews(key),
    key,
    log,
    tracer: personTracerOf(config),
    limit,
    license: config.OPEN_DATA_LICENSE,
    publicBaseUrl: config.PUBLIC_BASE_URL
  })
}

export default fp(openData, {
  name: 'open-data',
  fastify: '5.x',
  // its hooks (refusal audit) stay within /open/v1
  encapsulate: true,
  dependencies: ['db', 'problem', 'encryption', '@fastify/rate-limit']
})
