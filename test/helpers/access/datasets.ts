import type { RouteCase } from './route-case.js'

/** A dataset the CS unit's steward may register (the access test's tokens carry unit OFFICE, so the
 * office registers it for CS; a steward of OFFICE gets its own unit's refusal, not a role refusal). */
const datasetBody = (n: number) => ({
  code: `ds${n}`,
  name: 'Dataset',
  subject: `subject ${n}`,
  category: 'routine',
  shareAttribute: 'conditional',
  openAttribute: 'none',
  updateFrequency: 'monthly',
  retentionDays: 365,
  primaryKey: ['id'],
  fields: [{ name: 'id', type: 'string', required: true }]
})

const levels = [
  { sensitivity: 1, label: 'public', minimumGrade: 'external_public', nationalGrade: 'general' },
  { sensitivity: 2, label: 'internal', minimumGrade: 'internal_public', nationalGrade: 'general' },
  { sensitivity: 3, label: 'sensitive', minimumGrade: 'ordinary', nationalGrade: 'general' },
  { sensitivity: 4, label: 'highly sensitive', minimumGrade: 'important', nationalGrade: 'important' }
]

export const DATASETS_ROUTES: RouteCase[] = [
  { method: 'POST', path: '/api/v1/datasets', url: '/api/v1/datasets', payload: datasetBody, allowed: ['steward', 'security_admin'] },
  { method: 'GET', path: '/api/v1/datasets', url: '/api/v1/datasets', allowed: 'all' },
  { method: 'GET', path: '/api/v1/datasets/{code}', url: '/api/v1/datasets/none', allowed: 'all' },
  { method: 'PATCH', path: '/api/v1/datasets/{code}', url: '/api/v1/datasets/none', payload: () => ({ name: 'Renamed' }), allowed: ['steward', 'security_admin'] },
  { method: 'POST', path: '/api/v1/datasets/{code}/publish', url: '/api/v1/datasets/none/publish', allowed: ['steward', 'security_admin'] },
  {
    method: 'POST',
    path: '/api/v1/datasets/{code}/grading-review',
    url: '/api/v1/datasets/none/grading-review',
    payload: () => ({ decision: 'confirm' }),
    allowed: ['security_admin']
  },
  { method: 'GET', path: '/api/v1/datasets/{code}/grades', url: '/api/v1/datasets/none/grades', allowed: 'all' },
  { method: 'GET', path: '/api/v1/grading-policy', url: '/api/v1/grading-policy', allowed: 'all' },
  { method: 'PUT', path: '/api/v1/grading-policy', url: '/api/v1/grading-policy', payload: () => ({ levels }), allowed: ['security_admin'] },
  { method: 'GET', path: '/api/v1/datasets/{code}/encryption', url: '/api/v1/datasets/none/encryption', allowed: ['security_admin', 'auditor', 'steward'] },
  {
    method: 'PUT',
    path: '/api/v1/datasets/{code}/encryption',
    url: '/api/v1/datasets/none/encryption',
    payload: () => ({ fields: ['x'], reason: 'access test' }),
    allowed: ['security_admin']
  }
]
