// API5 (OWASP API Security Top 10, 2023), function-level authorization from one table: every
// /api/v1 route × every role. Deny unless the table grants, and the table must cover every route the app serves.
import t from 'tap'
import { ROLES } from '../../src/platform/auth/roles.js'
import { build, createUnit } from '../helpers/build.js'
import { ACCESS_TABLE, PUBLIC_ROUTES as PUBLIC } from '../helpers/security/access-table.js'

// one app serves every case
const h = await build(t)
await createUnit(h, 'CS')

t.test('every role gets exactly what the table grants', async (t) => {
  let n = 0
  for (const route of ACCESS_TABLE) {
    for (const role of ROLES) {
      const res = await h.as(role, { method: route.method, url: route.url, ...(route.payload ? { payload: route.payload(n++) } : {}) })
      const allowed = route.allowed === 'all' || route.allowed.includes(role)
      if (allowed) {
        // granted: the route did its work (an absent object is its own 404, not a refusal)
        t.not(res.statusCode, 403, `${role} may ${route.method} ${route.path}`)
        t.not(res.statusCode, 401, `${role} ${route.method} ${route.path}`)
        t.ok(res.statusCode < 300 || res.json().code !== 'AUTH_FORBIDDEN', `${role} ${route.method} ${route.path}: ${res.statusCode}`)
      } else {
        t.equal(res.statusCode, 403, `${role} may not ${route.method} ${route.path}`)
        t.equal(res.json().code, 'AUTH_FORBIDDEN')
      }
    }
    const anonymous = await h.app.inject({ method: route.method, url: route.url, ...(route.payload ? { payload: route.payload(n++) } : {}) })
    t.equal(anonymous.statusCode, 401, `no token: ${route.method} ${route.path}`)
  }
})

t.test('the table covers every authenticated route of the API', async (t) => {
  const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> }
  const served = Object.entries(spec.paths)
    .filter(([path]) => path.startsWith('/api/v1/'))
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .filter((route) => !PUBLIC.has(route))
    .sort()
  const covered = ACCESS_TABLE.map((r) => `${r.method} ${r.path}`).sort()
  t.same(covered, served)
})

t.test('the routes without a token are public indeed, and served', async (t) => {
  const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { security?: unknown[] }>> }
  for (const route of PUBLIC) {
    const [method, path] = route.split(' ') as [string, string]
    const op = spec.paths[path]?.[method.toLowerCase()]
    t.ok(op, `${route} is in the OpenAPI document`)
    t.same(op?.security, [], `${route} is documented as taking no token`)
    const url = path.replace('{id}', '00000000-0000-4000-8000-000000000000') + (path.endsWith('/status') ? '?receipt=x' : '')
    const res = await h.app.inject({ method: method as 'GET' | 'POST', url, ...(method === 'POST' ? { payload: {} } : {}) })
    t.not(res.statusCode, 401, `${route} answers without a token`)
    t.not(res.statusCode, 403, `${route} refuses no anonymous caller for its role`)
  }
})
