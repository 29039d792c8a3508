import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet from 'helmet'

/**
 * Helmet's default headers (HSTS, CSP, nosniff, frame and referrer policies, …), worked out once at
 * start-up: they do not vary by request, and building a helmet middleware per request (what
 * @fastify/helmet does) cost every answer a few microseconds and kilobytes.
 */
export function helmetHeaders (): Record<string, string> {
  const headers: Record<string, string> = {}
  const res = {
    setHeader (name: string, value: string | number | readonly string[]) { headers[name.toLowerCase()] = String(value) },
    removeHeader (name: string) { delete headers[name.toLowerCase()] }
  }
  type Middleware = ReturnType<typeof helmet>
  helmet()({} as Parameters<Middleware>[0], res as unknown as Parameters<Middleware>[1], () => {})
  return headers
}

/**
 * Every answer carries the security headers; answers under /api/v1 are for one caller's token
 * (records, personal data, secrets), so no browser or proxy cache keeps them (OWASP API8). A route
 * that means otherwise sets its own header, which replaces these.
 */
async function securityHeaders (app: FastifyInstance) {
  const everywhere = helmetHeaders()
  const api = { ...everywhere, 'cache-control': 'no-store' }
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.url.startsWith('/api/v1/') ? api : everywhere)
    done()
  })
}

export default fp(securityHeaders, { name: 'security-headers', fastify: '5.x' })
