import type { RouteCase } from './route-case.js'

// the dataset does not exist: a granted role reaches the handler and gets its 404
const correction = { recordKey: '2026000001', field: 'phone', description: 'changed her number' }
const ID = '00000000-0000-4000-8000-000000000000'

export const CORRECTIONS_ROUTES: RouteCase[] = [
  { method: 'GET', path: '/api/v1/datasets/{code}/corrections', url: '/api/v1/datasets/students/corrections', allowed: ['consumer', 'steward', 'security_admin', 'auditor'] },
  { method: 'POST', path: '/api/v1/datasets/{code}/corrections', url: '/api/v1/datasets/students/corrections', payload: () => correction, allowed: ['consumer', 'steward', 'security_admin'] },
  { method: 'GET', path: '/api/v1/datasets/{code}/corrections/{id}', url: `/api/v1/datasets/students/corrections/${ID}`, allowed: ['consumer', 'steward', 'security_admin', 'auditor'] },
  {
    method: 'POST',
    path: '/api/v1/datasets/{code}/corrections/{id}/decision',
    url: `/api/v1/datasets/students/corrections/${ID}/decision`,
    payload: () => ({ decision: 'reject', reason: 'the record is right' }),
    allowed: ['steward']
  }
]
