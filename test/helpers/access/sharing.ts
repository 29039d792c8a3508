import type { RouteCase } from './route-case.js'

const id = '00000000-0000-4000-8000-000000000000'
const members = ['consumer', 'steward'] as const
const readers = ['consumer', 'steward', 'security_admin', 'auditor'] as const

/** Share requests, agreements and grants: units file and sign, stewards and the office review, auditors read. */
export const SHARING_ROUTES: RouteCase[] = [
  {
    method: 'POST',
    path: '/api/v1/share-requests',
    url: '/api/v1/share-requests',
    payload: () => ({ dataset: 'nope', fields: ['a'], purpose: 'p', legalBasis: 'l', accessModes: ['api'], validFrom: '2030-01-01', validUntil: '2030-02-01', dailyRowQuota: 1, thirdParty: false }),
    allowed: members
  },
  // the leading group reads and reviews requests that provide data outside the university
  { method: 'GET', path: '/api/v1/share-requests', url: '/api/v1/share-requests', allowed: [...readers, 'leadership'] },
  { method: 'GET', path: '/api/v1/share-requests/{id}', url: `/api/v1/share-requests/${id}`, allowed: [...readers, 'leadership'] },
  { method: 'POST', path: '/api/v1/share-requests/{id}/reviews', url: `/api/v1/share-requests/${id}/reviews`, payload: () => ({ decision: 'approve' }), allowed: ['steward', 'security_admin', 'leadership'] },
  { method: 'POST', path: '/api/v1/share-requests/{id}/commitment', url: `/api/v1/share-requests/${id}/commitment`, payload: () => ({ accept: true }), allowed: members },
  { method: 'POST', path: '/api/v1/share-requests/{id}/withdrawal', url: `/api/v1/share-requests/${id}/withdrawal`, payload: () => ({ reason: 'r' }), allowed: members },
  { method: 'GET', path: '/api/v1/agreements/{id}', url: `/api/v1/agreements/${id}`, allowed: readers },
  { method: 'POST', path: '/api/v1/agreements/{id}/signatures', url: `/api/v1/agreements/${id}/signatures`, payload: () => ({ party: 'consumer' }), allowed: ['consumer', 'steward', 'security_admin'] },
  { method: 'GET', path: '/api/v1/grants', url: '/api/v1/grants', allowed: readers },
  { method: 'GET', path: '/api/v1/grants/{id}', url: `/api/v1/grants/${id}`, allowed: readers },
  { method: 'POST', path: '/api/v1/grants/{id}/revoke', url: `/api/v1/grants/${id}/revoke`, payload: () => ({ reason: 'r' }), allowed: ['steward', 'security_admin'] },
  { method: 'PATCH', path: '/api/v1/grants/{id}', url: `/api/v1/grants/${id}`, payload: () => ({ reason: 'r', dailyRowQuota: 1 }), allowed: ['steward', 'security_admin'] },
  { method: 'POST', path: '/api/v1/grants/{id}/recertification', url: `/api/v1/grants/${id}/recertification`, payload: () => ({ decision: 'keep', reason: 'r' }), allowed: ['steward'] }
]
