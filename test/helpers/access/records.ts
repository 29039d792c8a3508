import type { RouteCase } from './route-case.js'

// the dataset does not exist: a granted role reaches the handler and gets its 404
export const RECORDS_ROUTES: RouteCase[] = [
  {
    method: 'PUT',
    path: '/api/v1/datasets/{code}/records',
    url: '/api/v1/datasets/students/records',
    payload: () => [{ student_id: '2026000001', name: 'Wang Fang', college: 'CS' }],
    allowed: ['steward']
  },
  { method: 'DELETE', path: '/api/v1/datasets/{code}/records/{key}', url: '/api/v1/datasets/students/records/2026000001', allowed: ['steward'] }
]
