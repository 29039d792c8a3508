import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AuditLog } from '../../audit/index.js'
import { createDenialLimiter } from '../../audit/index.js'

/** The actor of every open request: nobody in particular, at an address. */
export function anonymous (request: FastifyRequest) {
  return { sub: 'anonymous', unit: null, roles: [], client: null, ip: request.ip }
}

const operationOf = (request: FastifyRequest) =>
  request.routeOptions.url?.endsWith('/records') ? 'open.records.read' : 'open.catalog.read'

/**
 * Refused open requests (400, 403, 404, 429, and 503 when the log itself failed) are recorded
 * before the refusal leaves, with the sequence number in X-Audit-Event. One address's refusals
 * cost the log at most 60 events a minute: the rest are counted and reported with its next one.
 */
export function auditRefusals (app: FastifyInstance, log: AuditLog) {
  const denials = createDenialLimiter()
  app.addHook('onSend', async (request, reply, payload) => {
    const status = reply.statusCode
    if (status < 400) return payload
    const suppressed = denials.admit(`ip:${request.ip}`)
    if (suppressed === null) return payload
    const dataset = (request.params as { code?: string } | undefined)?.code ?? null
    const code = typeof payload === 'string' ? /"code":"([A-Z0-9_]+)"/.exec(payload)?.[1] ?? null : null
    try {
      const { seq } = await log.append({
        service: 'gateway',
        // refusals of who may read are denials; bad input, unknown datasets and rate limits are failed reads
        action: status === 403 ? 'denied' : 'query',
        operation: operationOf(request),
        outcome: status >= 500 ? 'failure' : 'denied',
        actor: anonymous(request),
        objectType: dataset === null ? null : 'dataset',
        objectId: dataset,
        dataset,
        rows: 0,
        requestId: String(request.id),
        details: { status, code, route: request.routeOptions.url ?? null, ...(suppressed > 0 ? { suppressedBefore: suppressed } : {}) }
      })
      reply.header('x-audit-event', seq)
    } catch (err) {
      request.log.error({ err }, 'audit: a refused open request could not be recorded')
    }
    return payload
  })
}
