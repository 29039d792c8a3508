import type { RouteCase } from './route-case.js'

const readers = ['system_admin', 'security_admin', 'auditor'] as const

/** Who holds which role, and offboarding (R1.4): the platform administrator and the office offboard; auditors read too. */
export const PRINCIPALS_ROUTES: RouteCase[] = [
  { method: 'GET', path: '/api/v1/principals', url: '/api/v1/principals', allowed: readers },
  {
    method: 'POST',
    path: '/api/v1/principals/{sub}/offboard',
    url: '/api/v1/principals/leaver/offboard',
    payload: () => ({ unit: 'CS', reason: 'left' }),
    allowed: ['system_admin', 'security_admin']
  },
  { method: 'GET', path: '/api/v1/principals/{sub}/offboarding', url: '/api/v1/principals/leaver/offboarding', allowed: readers },
  { method: 'GET', path: '/api/v1/principals/offboarded', url: '/api/v1/principals/offboarded', allowed: readers }
]
