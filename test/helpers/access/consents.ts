import type { RouteCase } from './route-case.js'

const consent = '/api/v1/consents/00000000-0000-4000-8000-000000000000'
const newConsent = () => ({ person: '2020000001', dataset: 'none', purposeCode: 'access_test', kind: 'separate', evidence: 'form 1', givenAt: '2026-01-01T00:00:00Z' })

// the dataset, the purpose and the consent do not exist: a granted role reaches the handler and gets its 400 or 404
export const CONSENTS_ROUTES: RouteCase[] = [
  { method: 'POST', path: '/api/v1/consents', url: '/api/v1/consents', payload: newConsent, allowed: ['steward', 'security_admin'] },
  { method: 'POST', path: '/api/v1/consents/batch', url: '/api/v1/consents/batch', payload: () => [newConsent()] as unknown as object, allowed: ['steward', 'security_admin'] },
  { method: 'GET', path: '/api/v1/consents', url: '/api/v1/consents', allowed: ['steward', 'consumer', 'security_admin', 'auditor'] },
  { method: 'GET', path: '/api/v1/consents/{id}', url: consent, allowed: ['steward', 'consumer', 'security_admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/consents/{id}/withdrawal', url: `${consent}/withdrawal`, payload: () => ({ reason: 'access test' }), allowed: ['steward', 'consumer', 'security_admin'] },
  // purposes: the office writes, everyone authenticated reads
  { method: 'GET', path: '/api/v1/purposes', url: '/api/v1/purposes', allowed: 'all' },
  { method: 'GET', path: '/api/v1/purposes/{code}', url: '/api/v1/purposes/access_test', allowed: 'all' },
  {
    method: 'POST',
    path: '/api/v1/purposes',
    url: '/api/v1/purposes',
    payload: (n) => ({ code: `access_test_${n}`, nameZh: '访问测试', nameEn: 'access test', description: 'access test' }),
    allowed: ['security_admin']
  },
  { method: 'PATCH', path: '/api/v1/purposes/{code}', url: '/api/v1/purposes/access_test', payload: () => ({ description: 'access test' }), allowed: ['security_admin'] }
]
