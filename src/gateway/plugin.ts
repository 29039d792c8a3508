import proxy from '@fastify/http-proxy'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { SERVICES, SERVICE_PREFIXES, SERVICE_URL_VARIABLES } from '../services.js'

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
          rewriteRequestHeaders: (request, headers) => ({ ...headers, 'x-request-id': String(request.id) })
        }
      })
    }
  }
}

export default fp(gateway, { name: 'gateway', fastify: '5.x', dependencies: ['problem'] })
