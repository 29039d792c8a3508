import type { RouteCase } from './route-case.js'

const consent = '/api/v1/consents/00000000-0000-4000-8000-000000000000'

// the dataset and the consent do not exist: a granted role reaches the handler and gets its 400 or 404
export const CONSENTS_ROUTES: RouteCase[] = [
  {
    method: 'POST',
    path: '/api/v1/consents',
    url: '/api/v1/consents',
    payload: () => ({ person: '2020000001', dataset: 'none', purpose: 'access test', kind: 'separate', evidence: 'form 1', givenAt: '2026-01-01T00:00:00Z' }),
    allowed: ['steward', 'consumer']
  },
  { method: 'GET', path: '/api/v1/consents', url: '/api/v1/consents', allowed: ['steward', 'consumer', 'security_admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/consents/{id}', url: consent, allowed: ['steward', 'consumer', 'security_admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/consents/{id}/withdrawal', url: `${consent}/withdrawal`, payload: () => ({ reason: 'access test' }), allowed: ['steward', 'consumer', 'security_admin'] }
]
