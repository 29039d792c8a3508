import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { alertRoutes } from './alert-routes.js'
import { blacklistRoutes } from './blacklist/routes.js'
import { personAccessRoutes } from './persons/routes.js'
import { personTracerOf, type PersonTracer } from './persons/trace.js'
import { auditRoutes } from './routes.js'

/**
 * The audit service's routes. The log itself (app.audit, the relay and the hook on denials) is the
 * `audit-log` plugin, which app.ts registers in every process that serves /api/v1 routes.
 */
async function audit (app: FastifyInstance) {
  await app.register(auditRoutes)
  await app.register(alertRoutes)
  await app.register(blacklistRoutes)
  await app.register(personAccessRoutes, { tracer: tracerOf(app) })
}

/** The digests of person keys need the master key: a process without one answers the lookup with 503. */
function tracerOf (app: FastifyInstance): PersonTracer | null {
  try {
    return personTracerOf(app.config)
  } catch (err) {
    app.log.warn({ err }, 'audit: no master key in this process; the person-access lookup answers 503')
    return null
  }
}

export default fp(audit, { name: 'audit', dependencies: ['audit-log'], fastify: '5.x' })
