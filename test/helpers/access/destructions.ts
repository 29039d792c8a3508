import type { RouteCase } from './route-case.js'

const id = '00000000-0000-4000-8000-000000000000'
const readers = ['steward', 'security_admin', 'auditor', 'supervisor'] as const

/** Destructions: stewards and the office propose and review, supervisors witness, the office executes; auditors read. */
export const DESTRUCTIONS_ROUTES: RouteCase[] = [
  { method: 'POST', path: '/api/v1/destructions', url: '/api/v1/destructions', payload: () => ({ dataset: 'nope', scope: 'all', reason: 'r' }), allowed: ['steward', 'security_admin'] },
  { method: 'GET', path: '/api/v1/destructions', url: '/api/v1/destructions', allowed: readers },
  { method: 'GET', path: '/api/v1/destructions/{id}', url: `/api/v1/destructions/${id}`, allowed: readers },
  { method: 'POST', path: '/api/v1/destructions/{id}/reviews', url: `/api/v1/destructions/${id}/reviews`, payload: () => ({ decision: 'approve' }), allowed: ['steward', 'security_admin'] },
  { method: 'POST', path: '/api/v1/destructions/{id}/witness', url: `/api/v1/destructions/${id}/witness`, payload: () => ({}), allowed: ['supervisor'] },
  { method: 'POST', path: '/api/v1/destructions/{id}/execute', url: `/api/v1/destructions/${id}/execute`, payload: () => ({ confirm: 'nope' }), allowed: ['security_admin'] },
  { method: 'GET', path: '/api/v1/destructions/{id}/certificate', url: `/api/v1/destructions/${id}/certificate`, allowed: readers }
]
