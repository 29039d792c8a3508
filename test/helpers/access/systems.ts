import type { RouteCase } from './route-case.js'

const system = '/api/v1/systems/00000000-0000-4000-8000-000000000000'
const writers = ['security_admin', 'steward'] as const
const readers = ['security_admin', 'auditor', 'steward'] as const

/** The asset registry (R2.9): stewards and the office keep it, auditors read it, nobody else sees it. */
export const SYSTEMS_ROUTES: RouteCase[] = [
  {
    method: 'POST',
    path: '/api/v1/systems',
    url: '/api/v1/systems',
    payload: (n) => ({ name: `System ${n}`, owner: { name: 'Owner', contact: 'o@example.edu.cn' } }),
    allowed: writers
  },
  { method: 'GET', path: '/api/v1/systems', url: '/api/v1/systems', allowed: readers },
  { method: 'GET', path: '/api/v1/systems/consistency', url: '/api/v1/systems/consistency', allowed: readers },
  { method: 'GET', path: '/api/v1/systems/{id}', url: system, allowed: readers },
  { method: 'PATCH', path: '/api/v1/systems/{id}', url: system, payload: () => ({ name: 'Renamed' }), allowed: writers },
  { method: 'POST', path: '/api/v1/systems/{id}/confirm', url: `${system}/confirm`, allowed: writers },
  { method: 'DELETE', path: '/api/v1/systems/{id}', url: system, allowed: writers }
]
