import { readFile } from 'node:fs/promises'
import t from 'tap'
import { generateOpenapi } from '../scripts/openapi.js'
import { openapiFile } from '../src/gateway/docs.js'

interface Operation {
  summary?: string
  tags?: string[]
  operationId?: string
  security?: unknown[]
  requestBody?: { content: Record<string, { schema?: unknown, example?: unknown, examples?: unknown }> }
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>
}

/** Actions that take no body: the path says everything. */
/** Routes that take no token by design. */
const PUBLIC = new Set(['POST /api/v1/auth/token', 'POST /api/v1/open-requests', 'GET /api/v1/open-requests/{id}/status'])

const BODYLESS = new Set([
  'POST /api/v1/clients/{clientId}/disable',
  'POST /api/v1/datasets/{code}/publish',
  'POST /api/v1/systems/{id}/confirm'
])

t.test('the committed openapi/openapi.json is current', async (t) => {
  const committed = await readFile(openapiFile, 'utf8')
  const generated = await generateOpenapi()
  t.ok(committed === generated, 'openapi/openapi.json is stale: run "npm run openapi" and commit it')
})

t.test('every operation is documented', async (t) => {
  const doc = JSON.parse(await readFile(openapiFile, 'utf8')) as { paths: Record<string, Record<string, Operation>>, components: { schemas: Record<string, unknown> } }
  t.ok(doc.components.schemas.Problem, 'the shared problem document is a component')
  const ids = new Set<string>()
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const name = `${method.toUpperCase()} ${path}`
      t.ok(op.summary, `${name} has a summary`)
      t.ok(op.tags?.length, `${name} has tags`)
      t.ok(op.operationId && !ids.has(op.operationId), `${name} has a unique operationId`)
      ids.add(op.operationId!)
      t.ok(Object.keys(op.responses ?? {}).length > 0, `${name} documents its responses`)
      const success = Object.entries(op.responses ?? {}).find(([status]) => status.startsWith('2'))
      // 204 No Content is the one success without a body
      t.ok(success?.[0] === '204' || success?.[1].content, `${name} has a response schema`)
      if (['post', 'put', 'patch'].includes(method) && !BODYLESS.has(name)) {
        t.ok(op.requestBody?.content, `${name} has a request body schema`)
      }
      if (path.startsWith('/api/v1/') && !PUBLIC.has(name)) {
        t.same(op.security, [{ bearerAuth: [] }], `${name} requires a bearer token`)
        t.ok(op.responses?.['401'] && op.responses['403'], `${name} documents 401 and 403`)
      }
    }
  }
  // the main operations carry examples for integrators
  const create = doc.paths['/api/v1/units']!.post!
  t.match(JSON.stringify(create.requestBody), /"examples?"/, 'createUnit has a request example')
  t.match(JSON.stringify(create.responses!['201']), /"examples?"/, 'createUnit has a response example')
})
