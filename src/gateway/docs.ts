import { readFile } from 'node:fs/promises'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { RunMode } from '../services.js'

/** openapi/ at the project root: two levels up from both src/gateway and dist/gateway */
export const openapiFile = new URL('../../openapi/openapi.json', import.meta.url)

const info = {
  title: 'Datagate API',
  version: '1.0.0',
  license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
  description: 'Campus data governance and sharing: a graded data catalog, approved and audited sharing, masking, ' +
    'tamper-evident audit and supervised destruction. Every `/api/v1` call carries a bearer JWT (see `POST /api/v1/auth/token` ' +
    'or `datagate token`). Errors are RFC 9457 problem documents. Lists are cursor-paginated.'
}

/**
 * OpenAPI from the route schemas, at /openapi.json and in the Swagger UI at /docs. The distributed
 * gateway has no route schemas of its own, so it serves the committed document of the whole platform.
 */
async function docs (app: FastifyInstance, { mode, enabled }: { mode: RunMode, enabled: boolean }) {
  if (mode === 'gateway') {
    const document = JSON.parse(await readFile(openapiFile, 'utf8')) as Record<string, unknown>
    await app.register(swagger, { mode: 'static', specification: { document: document as never } })
  } else {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info,
        servers: [{ url: '/', description: 'this server' }],
        tags: [
          { name: 'auth', description: 'Tokens for service clients' },
          { name: 'clients', description: 'Service clients (business systems) of the client-credentials grant' },
          { name: 'units', description: 'Second-level units (二级单位), producers and consumers of data' },
          { name: 'datasets', description: 'The graded data catalog (数据资源目录): datasets, fields, grading policy and grade history' },
          { name: 'records', description: 'Authoritative records pushed by each dataset\'s producer unit, validated, with provenance' },
          { name: 'quality', description: 'Data quality and retention reports of the catalog' },
          { name: 'asset registry', description: 'Business systems of each unit and the datasets they feed (R2.9)' },
          { name: 'audit', description: 'The hash-chained audit log: events, exports, verification, signed checkpoints' },
          { name: 'share-requests', description: 'Share requests (共享申请) and their reviews, usage commitments (R7.1–R7.8)' },
          { name: 'agreements', description: 'Tripartite agreements (三方协议) between consumer, producer and the office (R7.3)' },
          { name: 'grants', description: 'Grants (授权): what a consumer may read, how, for what and until when' },
          { name: 'principals', description: 'Offboarding: a departing person\'s rights revoked at once, and the confidentiality period after (R1.4)' },
          { name: 'consents', description: 'Personal-information consents (general, separate, guardian) and their withdrawal (R9.1–R9.3)' },
          { name: 'open-data', description: 'The open catalog: three-level confidentiality review and open requests from outside applicants (R8)' },
          { name: 'masking', description: 'Masking engine and policies, PI detection, re-identification risk (R6.2, R6.4, R7.6, R9.5)' },
          { name: 'operations', description: 'Health, readiness and metrics' }
        ],
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
        }
      },
      refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) }
    })
  }
  // say in the document what each route requires
  app.addHook('onRoute', (route) => {
    if (!route.schema || route.schema.hide) return
    const access = route.config?.access
    if (access === undefined || access === 'public') {
      route.schema = { security: [], ...route.schema }
      return
    }
    const who = access === 'authenticated' ? 'any authenticated caller' : `role ${access.roles.map((r) => `\`${r}\``).join(' or ')}`
    const description = route.schema.description ? `${route.schema.description}\n\n` : ''
    route.schema = { ...route.schema, security: [{ bearerAuth: [] }], description: `${description}Requires ${who}.` }
  })
  if (enabled) await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export default fp(docs, { name: 'docs', fastify: '5.x' })
