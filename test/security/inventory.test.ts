// API9 (OWASP API Security Top 10, 2023), improper inventory management: every route the app
// serves is in the committed contract (openapi/openapi.json) and every operation of the contract is
// served, but for the documentation routes listed below; every operation states its security.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { build } from '../helpers/build.js'

type Spec = { paths: Record<string, Record<string, { operationId?: string, security?: unknown[] }>> }
const CONTRACT = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as Spec
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])

/** Served, but no API operation: the contract itself and its viewer. */
const NOT_IN_CONTRACT: Record<string, string> = {
  'GET /openapi.json': 'the contract itself',
  'GET /docs': 'the Swagger UI',
  'GET /docs/': 'the Swagger UI',
  'GET /docs/static/index.html': 'a Swagger UI asset',
  'GET /docs/static/swagger-initializer.js': 'a Swagger UI asset',
  'GET /docs/*': 'the Swagger UI\'s static assets',
  'GET /docs/json': 'the contract, as the Swagger UI loads it',
  'GET /docs/yaml': 'the contract in YAML, from the Swagger UI'
}
/** Served outside the versioned API prefixes, and in the contract: operations, not data. */
const UNVERSIONED = new Set(['GET /health/live', 'GET /health/ready', 'GET /metrics'])

/**
 * The routes of `printRoutes({ commonPrefix: false })`: a radix tree whose lines are a segment and
 * its methods, indented four columns a level; a route is its ancestors' segments joined.
 */
function servedRoutes (tree: string): string[] {
  const stack: string[] = []
  const routes: string[] = []
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!m) continue
    const depth = m[1]!.length / 4
    stack.length = depth
    stack.push(m[2]!)
    const path = stack.join('').replace(/:([A-Za-z_]+)/g, '{$1}')
    for (const method of (m[3] ?? '').split(', ')) if (METHODS.has(method)) routes.push(`${method} ${path}`)
  }
  return [...new Set(routes)].sort()
}

const h = await build(t)
const served = servedRoutes(h.app.printRoutes({ commonPrefix: false }))
const documented = Object.entries(CONTRACT.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort()

t.test('the route listing is read whole', async (t) => {
  // guards the parser: routes at every depth of the tree, the one split mid-segment included
  for (const route of ['GET /api/v1/units', 'DELETE /api/v1/datasets/{code}/records/{key}', 'GET /api/v1/principals/{sub}/offboarding', 'POST /api/v1/principals/{sub}/offboard']) {
    t.ok(served.includes(route), route)
  }
  t.ok(served.length > 90, `${served.length} routes`)
})

t.test('every served route is in the contract, but the listed documentation routes', async (t) => {
  t.same(served.filter((r) => !documented.includes(r) && !(r in NOT_IN_CONTRACT)), [], 'undocumented routes')
  t.same(Object.keys(NOT_IN_CONTRACT).filter((r) => !served.includes(r)), [], 'every exception is served (else drop it)')
  t.same(Object.keys(NOT_IN_CONTRACT).filter((r) => documented.includes(r)), [], 'and absent from the contract (else drop it)')
})

t.test('every operation of the contract is served', async (t) => {
  t.same(documented.filter((r) => !served.includes(r)), [], 'documented but not served')
  for (const route of documented) {
    const [method, path] = route.split(' ') as [string, string]
    t.ok(h.app.hasRoute({ method: method as 'GET', url: path.replace(/\{([A-Za-z_]+)\}/g, ':$1') }), `${route} is a route of the app`)
  }
})

t.test('the contract served is the one committed', async (t) => {
  const live = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as Spec
  const operations = (spec: Spec) => Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort()
  t.same(operations(live), documented)
})

t.test('every API route is versioned, and every operation states its security', async (t) => {
  t.same(documented.filter((r) => !/^[A-Z]+ \/(api|open)\/v1\//.test(r) && !UNVERSIONED.has(r)), [], 'outside /api/v1 and /open/v1')
  for (const [path, ops] of Object.entries(CONTRACT.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      t.ok(Array.isArray(op.security), `${method.toUpperCase()} ${path} declares its security (a bearer token, or none on purpose)`)
      t.type(op.operationId, 'string', `${method.toUpperCase()} ${path} has an operationId`)
    }
  }
})
