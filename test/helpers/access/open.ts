import type { RouteCase } from './route-case.js'

const request = '/api/v1/open-requests/00000000-0000-4000-8000-000000000000'

// the dataset and the request do not exist: a granted role reaches the handler and gets its 404.
// Filing and following an open request take no token: they are in access.test.ts's PUBLIC set.
export const OPEN_ROUTES: RouteCase[] = [
  {
    method: 'POST',
    path: '/api/v1/datasets/{code}/open-reviews',
    url: '/api/v1/datasets/none/open-reviews',
    payload: () => ({ decision: 'approve' }),
    allowed: ['steward', 'security_admin', 'leadership']
  },
  { method: 'GET', path: '/api/v1/datasets/{code}/open-reviews', url: '/api/v1/datasets/none/open-reviews', allowed: ['steward', 'security_admin', 'leadership', 'auditor'] },
  { method: 'GET', path: '/api/v1/open-requests', url: '/api/v1/open-requests', allowed: ['security_admin', 'auditor', 'steward'] },
  { method: 'GET', path: '/api/v1/open-requests/{id}', url: request, allowed: ['security_admin', 'auditor', 'steward'] },
  {
    method: 'POST',
    path: '/api/v1/open-requests/{id}/reviews',
    url: `${request}/reviews`,
    payload: () => ({ decision: 'reject', reason: 'access test' }),
    allowed: ['security_admin']
  }
]
