import type { RouteCase } from './route-case.js'

// exports and leak tracing: absent objects, so that a granted role reaches the handler and gets its 404 (or 400 for a fragment too small)
export const EXPORTS_ROUTES: RouteCase[] = [
  { method: 'POST', path: '/api/v1/data/{dataset}/exports', url: '/api/v1/data/none_here/exports', payload: () => ({}), allowed: ['consumer', 'steward'] },
  { method: 'GET', path: '/api/v1/exports', url: '/api/v1/exports', allowed: ['consumer', 'steward'] },
  { method: 'GET', path: '/api/v1/exports/{id}', url: '/api/v1/exports/00000000-0000-4000-8000-000000000000', allowed: ['consumer', 'steward'] },
  { method: 'GET', path: '/api/v1/exports/{id}/file', url: '/api/v1/exports/00000000-0000-4000-8000-000000000000/file', allowed: ['consumer', 'steward'] },
  { method: 'POST', path: '/api/v1/watermarks/trace', url: '/api/v1/watermarks/trace', payload: () => ({ csv: 'name\r\nx\r\n' }), allowed: ['security_admin', 'auditor'] }
]
