import type { RouteCase } from './route-case.js'

const rows = () => [{ name: '张三', phone: '13812345678' }]

// the dataset does not exist: a granted role reaches the handler and gets its 404
export const MASKING_ROUTES: RouteCase[] = [
  { method: 'GET', path: '/api/v1/masking/strategies', url: '/api/v1/masking/strategies', allowed: 'all' },
  { method: 'GET', path: '/api/v1/masking/policies/{dataset}', url: '/api/v1/masking/policies/none', allowed: ['security_admin', 'auditor', 'steward'] },
  {
    method: 'PUT',
    path: '/api/v1/masking/policies/{dataset}',
    url: '/api/v1/masking/policies/none',
    payload: () => ({ profiles: {}, reason: 'access test' }),
    allowed: ['security_admin']
  },
  { method: 'GET', path: '/api/v1/masking/policies/{dataset}/versions', url: '/api/v1/masking/policies/none/versions', allowed: ['security_admin', 'auditor', 'steward'] },
  {
    method: 'POST',
    path: '/api/v1/masking/apply',
    url: '/api/v1/masking/apply',
    payload: () => ({ rows: rows(), rules: { phone: { strategy: 'mask', piType: 'phone' } } }),
    allowed: ['steward', 'consumer', 'security_admin']
  },
  { method: 'POST', path: '/api/v1/masking/detect', url: '/api/v1/masking/detect', payload: () => ({ rows: rows() }), allowed: ['steward', 'consumer', 'security_admin'] },
  {
    method: 'POST',
    path: '/api/v1/masking/anonymity',
    url: '/api/v1/masking/anonymity',
    payload: () => ({ rows: rows(), quasiIdentifiers: ['name'], k: 2 }),
    allowed: ['steward', 'consumer', 'security_admin']
  },
  { method: 'POST', path: '/api/v1/masking/detokenize', url: '/api/v1/masking/detokenize', payload: () => ({ scope: 'apply:CS:', tokens: ['tka_x'] }), allowed: ['security_admin'] }
]
