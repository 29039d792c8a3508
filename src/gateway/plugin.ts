import proxy from '@fastify/http-proxy'
import type { FastifyInstance, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { sendProblem } from '../platform/problem.js'
import { SERVICES, SERVICE_PREFIXES, SERVICE_URL_VARIABLES } from '../platform/topology.js'

/**
 * The distributed gateway: forwards each service's API prefixes to where that service runs. The
 * services verify tokens and roles themselves (every process does), so the proxied routes are
 * `public` here; the gateway adds rate limiting, request ids and the platform-wide docs.
 */
async function gateway (app: FastifyInstance, { config }: { config: Config }) {
  const missing = SERVICES.filter((s) => !config[SERVICE_URL_VARIABLES[s]]).map((s) => SERVICE_URL_VARIABLES[s])
  if (missing.length > 0) throw new Error(`the gateway needs ${missing.join(', ')}`)
  for (const service of SERVICES) {
    const upstream = config[SERVICE_URL_VARIABLES[service]]!
    for (const prefix of SERVICE_PREFIXES[service]) {
      await app.register(proxy, {
        upstream,
        prefix,
        rewritePrefix: prefix,
        config: { access: 'public', service },
        replyOptions: {
          rewriteRequestHeaders: (request, headers) => ({ ...headers, 'x-request-id': String(request.id) }),
          // a service that is down, restarting or too slow is a 503 to retry (reply-from would answer a
          // refused connection with a bare 500), and the problem says which service
          onError: (reply) => {
            const r = reply as unknown as FastifyReply
            r.header('retry-after', '1')
            sendProblem(r.request, r, 503, 'SERVICE_UNAVAILABLE', `the ${service} service is unavailable right now; retry shortly`)
          }
        }
      })
    }
  }
}

export default fp(gateway, { name: 'gateway', fastify: '5.x', dependencies: ['problem'] })
