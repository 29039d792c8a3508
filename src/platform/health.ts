import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'

const HealthSchema = Type.Object({
  status: Type.Enum(['ok', 'unavailable']),
  service: Type.String(),
  database: Type.Optional(Type.Enum(['ok', 'unavailable']))
})

/** Liveness says the process runs; readiness that it can reach its database (load balancers poll it). */
async function health (app: FastifyInstance, { service }: { service: string }) {
  // probes are never rate-limited: a load balancer polling often must not take the service out
  app.get('/health/live', {
    config: { rateLimit: false },
    schema: { tags: ['operations'], summary: 'Liveness', operationId: 'getLiveness', response: { 200: HealthSchema } }
  }, async () => ({ status: 'ok' as const, service }))

  app.get('/health/ready', {
    config: { rateLimit: false },
    schema: {
      tags: ['operations'],
      summary: 'Readiness: the database answers',
      operationId: 'getReadiness',
      response: { 200: HealthSchema, 503: HealthSchema }
    }
  }, async (request, reply) => {
    try {
      await app.database.ping()
      return { status: 'ok' as const, service, database: 'ok' as const }
    } catch (err) {
      request.log.warn({ err: { message: (err as Error).message } }, 'readiness check failed')
      return reply.code(503).send({ status: 'unavailable' as const, service, database: 'unavailable' as const })
    }
  })
}

export default fp(health, { name: 'health', fastify: '5.x', dependencies: ['db'] })
