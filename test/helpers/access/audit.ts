import type { RouteCase } from './route-case.js'

// only the security auditor reads audit (R1.2): system_admin and security_admin are refused like everyone else
export const AUDIT_ROUTES: RouteCase[] = [
  { method: 'GET', path: '/api/v1/audit/events', url: '/api/v1/audit/events', allowed: ['auditor'] },
  { method: 'GET', path: '/api/v1/audit/verify', url: '/api/v1/audit/verify', allowed: ['auditor'] },
  { method: 'GET', path: '/api/v1/audit/checkpoints', url: '/api/v1/audit/checkpoints', allowed: ['auditor'] },
  { method: 'GET', path: '/api/v1/audit/alerts', url: '/api/v1/audit/alerts', allowed: ['auditor'] },
  { method: 'POST', path: '/api/v1/audit/alerts/{id}/ack', url: '/api/v1/audit/alerts/1/ack', payload: () => ({}), allowed: ['auditor'] },
  {
    method: 'GET',
    path: '/api/v1/audit/reports/access',
    url: '/api/v1/audit/reports/access?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z',
    allowed: ['auditor']
  }
]
