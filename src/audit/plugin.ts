import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { alertRoutes } from './alert-routes.js'
import { blacklistRoutes } from './blacklist/routes.js'
import { auditRoutes } from './routes.js'

/**
 * The audit service's routes. The log itself (app.audit, the relay and the hook on denials) is the
 * `audit-log` plugin, which app.ts registers in every process that serves /api/v1 routes.
 */
async function audit (app: FastifyInstance) {
  await app.register(auditRoutes)
  await app.register(alertRoutes)
  await app.register(blacklistRoutes)
}

export default fp(audit, { name: 'audit', dependencies: ['audit-log'], fastify: '5.x' })
