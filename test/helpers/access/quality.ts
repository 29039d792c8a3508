import type { RouteCase } from './route-case.js'

export const QUALITY_ROUTES: RouteCase[] = [
  // the producer unit's members pass the role check; the unit check is the handler's (test/catalog/quality.test.ts)
  { method: 'GET', path: '/api/v1/datasets/{code}/quality', url: '/api/v1/datasets/students/quality', allowed: ['steward', 'consumer', 'security_admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/datasets/{code}/retention', url: '/api/v1/datasets/students/retention', allowed: ['steward', 'consumer', 'security_admin', 'auditor', 'supervisor'] },
  { method: 'GET', path: '/api/v1/retention/expired', url: '/api/v1/retention/expired', allowed: ['security_admin', 'auditor', 'supervisor'] }
]
