import type { RouteCase } from './route-case.js'

const unitBody = (n: number) => ({ code: `U${n}`, name: 'Unit', officer: { name: 'Officer', contact: 'o@example.edu.cn' } })

export const PLATFORM_ROUTES: RouteCase[] = [
  { method: 'POST', path: '/api/v1/units', url: '/api/v1/units', payload: unitBody, allowed: ['system_admin'] },
  { method: 'GET', path: '/api/v1/units', url: '/api/v1/units', allowed: 'all' },
  { method: 'GET', path: '/api/v1/units/{code}', url: '/api/v1/units/CS', allowed: 'all' },
  { method: 'PATCH', path: '/api/v1/units/{code}', url: '/api/v1/units/CS', payload: () => ({ name: 'Renamed' }), allowed: ['system_admin'] },
  { method: 'POST', path: '/api/v1/clients', url: '/api/v1/clients', payload: () => ({ name: 'system', unit: 'CS', roles: ['consumer'] }), allowed: ['system_admin'] },
  { method: 'GET', path: '/api/v1/clients', url: '/api/v1/clients', allowed: ['system_admin'] },
  { method: 'GET', path: '/api/v1/clients/{clientId}', url: '/api/v1/clients/dgc_0000000000000000', allowed: ['system_admin'] },
  { method: 'PATCH', path: '/api/v1/clients/{clientId}', url: '/api/v1/clients/dgc_0000000000000000', payload: () => ({ allowedAddresses: ['10.0.0.0/8'] }), allowed: ['system_admin'] },
  { method: 'POST', path: '/api/v1/clients/{clientId}/disable', url: '/api/v1/clients/dgc_0000000000000000/disable', allowed: ['system_admin'] },
  { method: 'PUT', path: '/api/v1/clients/{clientId}/holder', url: '/api/v1/clients/dgc_0000000000000000/holder', payload: () => ({ holder: 'li.na' }), allowed: ['system_admin'] },
  {
    method: 'PUT',
    path: '/api/v1/clients/{clientId}/agreement',
    url: '/api/v1/clients/dgc_0000000000000000/agreement',
    payload: () => ({ reference: 'CONF-1', signer: 'Signer', signedAt: '2020-01-01T00:00:00Z', expiresAt: '2099-01-01T00:00:00Z' }),
    allowed: ['system_admin']
  }
]
