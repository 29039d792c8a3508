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
  },
  // a person's right to know who used their data: read from the log, so the auditor's alone
  { method: 'GET', path: '/api/v1/audit/persons/{personKey}/accesses', url: '/api/v1/audit/persons/2026000001/accesses', allowed: ['auditor'] },
  // the blacklist: kept by the office (security operations), read by it and by auditors
  {
    method: 'POST',
    path: '/api/v1/audit/blacklist',
    url: '/api/v1/audit/blacklist',
    payload: (n) => ({ kind: 'principal', value: `access-probe-${n}`, reason: 'access table', expiresAt: new Date(Date.now() + 60_000).toISOString() }),
    allowed: ['security_admin']
  },
  { method: 'GET', path: '/api/v1/audit/blacklist', url: '/api/v1/audit/blacklist', allowed: ['security_admin', 'auditor'] },
  {
    method: 'GET',
    path: '/api/v1/audit/blacklist/{id}',
    url: '/api/v1/audit/blacklist/3a7c1e52-9d0b-4f6e-8a21-5b4c3d2e1f00',
    allowed: ['security_admin', 'auditor']
  },
  {
    method: 'POST',
    path: '/api/v1/audit/blacklist/{id}/lift',
    url: '/api/v1/audit/blacklist/3a7c1e52-9d0b-4f6e-8a21-5b4c3d2e1f00/lift',
    payload: () => ({ reason: 'access table' }),
    allowed: ['security_admin']
  }
]
