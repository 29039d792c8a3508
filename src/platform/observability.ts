import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { sendProblem } from './problem.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false for routes that stream for longer than the request deadline (exports) */
    deadline?: boolean
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Accepts a caller's X-Request-Id only when it is safe to log and echo; otherwise makes one. */
export function requestId (header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID()
}

export interface ObservabilityOptions {
  requestTimeoutMs: number
  service: string
  /** pool figures for /metrics, when the database has a pool */
  poolStats?: () => { total: number, idle: number, waiting: number }
}

async function observability (app: FastifyInstance, opts: ObservabilityOptions) {
  const registry = new Registry()
  registry.setDefaultLabels({ service: opts.service })
  collectDefaultMetrics({ register: registry })
  const requests = new Counter({
    name: 'datagate_http_requests_total',
    help: 'HTTP requests by route template, method and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry]
  })
  const latency = new Histogram({
    name: 'datagate_http_request_duration_seconds',
    help: 'HTTP request latency by route template and method',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry]
  })
  if (opts.poolStats) {
    const stats = opts.poolStats
    registry.registerMetric(new Gauge({
      name: 'datagate_db_pool_connections',
      help: 'database pool connections by state',
      labelNames: ['state'],
      registers: [],
      collect () { const s = stats(); this.set({ state: 'total' }, s.total); this.set({ state: 'idle' }, s.idle) }
    }))
    registry.registerMetric(new Gauge({
      name: 'datagate_db_pool_waiting',
      help: 'requests waiting for a database connection',
      registers: [],
      collect () { this.set(stats().waiting) }
    }))
  }

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (request.routeOptions.config.deadline === false) return
    // each request answers within its deadline, even if the database froze under it
    const timer = setTimeout(() => {
      if (reply.sent) return
      request.log.warn('request deadline exceeded')
      reply.header('retry-after', '1')
      sendProblem(request, reply, 503, 'DEADLINE_EXCEEDED', `no answer within ${opts.requestTimeoutMs} ms; retry shortly`)
    }, opts.requestTimeoutMs)
    timer.unref()
    reply.raw.once('close', () => { clearTimeout(timer) })
  })

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    requests.inc({ method: request.method, route, status: reply.statusCode })
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000)
  })

  app.get('/metrics', {
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics',
      description: 'Request counts and latency histograms by route, database pool figures, process metrics (Prometheus text format).',
      operationId: 'getMetrics',
      produces: ['text/plain'],
      response: { 200: { type: 'string', description: 'Prometheus exposition format' } }
    },
    config: { deadline: true }
  }, async (_request, reply) => {
    reply.type(registry.contentType)
    return await registry.metrics()
  })
}

export default fp(observability, { name: 'observability', fastify: '5.x', dependencies: ['problem'] })
