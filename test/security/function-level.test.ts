// Function-level authorization from one table: every /api/v1 route × every role. Deny unless the
// table grants, and the table must cover every route the app serves.
import t from 'tap'
import { ROLES } from '../../src/platform/auth/roles.js'
import { AUDIT_ROUTES } from '../helpers/access/audit.js'
import { CONSENTS_ROUTES } from '../helpers/access/consents.js'
import { DATA_ROUTES } from '../helpers/access/data.js'
import { DATASETS_ROUTES } from '../helpers/access/datasets.js'
import { DESTRUCTIONS_ROUTES } from '../helpers/access/destructions.js'
import { EXPORTS_ROUTES } from '../helpers/access/exports.js'
import { MASKING_ROUTES } from '../helpers/access/masking.js'
import { OPEN_ROUTES } from '../helpers/access/open.js'
import { PLATFORM_ROUTES } from '../helpers/access/platform.js'
import { PRINCIPALS_ROUTES } from '../helpers/access/principals.js'
import { QUALITY_ROUTES } from '../helpers/access/quality.js'
import { RECORDS_ROUTES } from '../helpers/access/records.js'
import type { RouteCase } from '../helpers/access/route-case.js'
import { SHARING_ROUTES } from '../helpers/access/sharing.js'
import { SYSTEMS_ROUTES } from '../helpers/access/systems.js'
import { build, createUnit } from '../helpers/build.js'

export const ACCESS_TABLE: RouteCase[] = [
  ...PLATFORM_ROUTES, ...DATASETS_ROUTES, ...RECORDS_ROUTES, ...QUALITY_ROUTES, ...SYSTEMS_ROUTES, ...AUDIT_ROUTES, ...MASKING_ROUTES, ...SHARING_ROUTES,
  ...OPEN_ROUTES, ...CONSENTS_ROUTES, ...PRINCIPALS_ROUTES, ...DATA_ROUTES, ...DESTRUCTIONS_ROUTES, ...EXPORTS_ROUTES
]

/** Routes that take no token by design. */
const PUBLIC = new Set(['POST /api/v1/auth/token', 'POST /api/v1/open-requests', 'GET /api/v1/open-requests/{id}/status'])

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
