import { readFile } from 'node:fs/promises'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { RunMode } from '../platform/topology.js'

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

type Json = Record<string, unknown>

/** Request schemas: a property the server fills in when it is missing is not required of clients. */
function unrequireDefaults (schema: unknown): void {
  if (schema === null || typeof schema !== 'object') return
  if (Array.isArray(schema)) { schema.forEach(unrequireDefaults); return }
  const s = schema as Json
  const properties = s.properties as Record<string, Json> | undefined
  if (properties && Array.isArray(s.required)) {
    s.required = (s.required as string[]).filter((name) => properties[name]?.default === undefined)
    if ((s.required as string[]).length === 0) delete s.required
  }
  for (const value of Object.values(s)) unrequireDefaults(value)
}

/** The `where[field]` / `where[field][op]` filters of the data path, as OpenAPI describes such a parameter. */
const WHERE_PARAMETER = {
  name: 'where',
  in: 'query',
  style: 'deepObject',
  explode: true,
  required: false,
  description: 'Filters: `where[field]=value` (equality) or `where[field][op]=value` with op one of eq, ne, gt, gte, lt, lte, in ' +
    '(`in`: comma-separated values). Only granted fields; masked or encrypted fields take eq and in only.',
  schema: {
    type: 'object',
    additionalProperties: {
      oneOf: [
        { type: 'string' },
        { type: 'object', additionalProperties: { type: 'string' }, description: 'operator → value' }
      ]
    }
  },
  example: { college: 'CS', year: { gte: '2023' } }
}

/**
 * The document as clients generate code from it: defaults are not required of them, and the
 * filters a route declares with `x-where-filters` (its schema takes `where[…]` by pattern, which
 * OpenAPI parameters cannot say) are one deepObject parameter.
 */
export function polishDocument ({ openapiObject }: { openapiObject: Json }): Json {
  const paths = (openapiObject.paths ?? {}) as Record<string, Record<string, Json>>
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const parameters = operation.parameters as Json[] | undefined
      for (const p of parameters ?? []) {
        if ((p.schema as Json | undefined)?.default !== undefined) p.required = false
      }
      unrequireDefaults((operation.requestBody as Json | undefined)?.content)
      if (operation['x-where-filters']) {
        delete operation['x-where-filters']
        operation.parameters = [...(parameters ?? []).filter((p) => !(typeof p.name === 'string' && p.name.startsWith('where'))), WHERE_PARAMETER]
      }
    }
  }
  return openapiObject
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
          { name: 'purposes', description: 'The campus\'s list of purposes of use, kept by the office: consents and share requests name one (R9.1)' },
          { name: 'open-data', description: 'The open catalog: three-level confidentiality review and open requests from outside applicants (R8)' },
          { name: 'destructions', description: 'Supervised destruction (销毁): proposal, reviews, a supervisor\'s witness, execution with crypto-shredding, certificates (R10)' },
          { name: 'data access', description: 'The data-access API: reads and exports under grants, masked, watermarked and audited; leak tracing (R6, R7.2, R7.6, R7.7, R7.10)' },
          { name: 'masking', description: 'Masking engine and policies, PI detection, re-identification risk (R6.2, R6.4, R7.6, R9.5)' },
          { name: 'operations', description: 'Health, readiness and metrics' }
        ],
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
        }
      },
      refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
      transformObject: (documents) => polishDocument(documents as unknown as { openapiObject: Json }) as never
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
