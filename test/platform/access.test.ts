// Function-level authorization from one table: every /api/v1 route × every role. Deny unless the
// table grants, and the table must cover every route the app serves.
import t from 'tap'
import { ROLES, type Role } from '../../src/platform/auth/roles.js'
import { build, createUnit } from '../helpers/build.js'

interface RouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  /** the route template as the OpenAPI document writes it */
  path: string
  url: string
  payload?: (n: number) => object
  /** roles that may call it; everyone else gets 403 */
  allowed: readonly Role[] | 'all'
}

const unitBody = (n: number) => ({ code: `U${n}`, name: 'Unit', officer: { name: 'Officer', contact: 'o@example.edu.cn' } })

export const ACCESS_TABLE: RouteCase[] = [
  { method: 'POST', path: '/api/v1/units', url: '/api/v1/units', payload: unitBody, allowed: ['system_admin'] },
  { method: 'GET', path: '/api/v1/units', url: '/api/v1/units', allowed: 'all' },
  { method: 'GET', path: '/api/v1/units/{code}', url: '/api/v1/units/CS', allowed: 'all' },
  { method: 'PATCH', path: '/api/v1/units/{code}', url: '/api/v1/units/CS', payload: () => ({ name: 'Renamed' }), allowed: ['system_admin'] },
  { method: 'POST', path: '/api/v1/clients', url: '/api/v1/clients', payload: () => ({ name: 'system', unit: 'CS', roles: ['consumer'] }), allowed: ['system_admin'] },
  { method: 'GET', path: '/api/v1/clients', url: '/api/v1/clients', allowed: ['system_admin'] },
  { method: 'GET', path: '/api/v1/clients/{clientId}', url: '/api/v1/clients/dgc_0000000000000000', allowed: ['system_admin'] },
  { method: 'POST', path: '/api/v1/clients/{clientId}/disable', url: '/api/v1/clients/dgc_0000000000000000/disable', allowed: ['system_admin'] }
]

/** Routes that take no token by design. */
const PUBLIC = new Set(['POST /api/v1/auth/token'])

t.test('every role gets exactly what the table grants', async (t) => {
  const h = await build(t)
  await createUnit(h, 'CS')
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
  const h = await build(t)
  const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> }
  const served = Object.entries(spec.paths)
    .filter(([path]) => path.startsWith('/api/v1/'))
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .filter((route) => !PUBLIC.has(route))
    .sort()
  const covered = ACCESS_TABLE.map((r) => `${r.method} ${r.path}`).sort()
  t.same(covered, served)
})
