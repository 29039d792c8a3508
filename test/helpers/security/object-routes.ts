import type { Role } from '../../../src/platform/auth/roles.js'
import type { ObjectName } from './objects.js'

/**
 * One parameterised route tried against unit A's object by unit B (LAW), with a role that may call
 * the route (test/helpers/access). `role: null` is a caller with no token (the open-data routes).
 */
export interface ObjectCase {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  path: string
  object: ObjectName
  role: Role | null
  payload?: unknown
  /** path parameters other than the object's, fixed (a correction's dataset) */
  fixed?: Record<string, string>
}

/** A parameterised route not tried across units, and why. */
export interface ObjectException {
  method: ObjectCase['method']
  path: string
  /** `cross-unit`: only roles without a unit scope may call it (checked against the access table) */
  kind: 'cross-unit' | 'public'
  reason: string
}

const row = { student_id: '2026000001', name: 'Wang Fang', college: 'CS' }

export const OBJECT_CASES: ObjectCase[] = [
  // the catalog: a published entry is everyone's to see (see PUBLISHED below); a draft is its producer's
  { method: 'GET', path: '/api/v1/datasets/{code}', object: 'draft', role: 'consumer' },
  { method: 'PATCH', path: '/api/v1/datasets/{code}', object: 'draft', role: 'steward', payload: { name: 'Renamed' } },
  { method: 'POST', path: '/api/v1/datasets/{code}/publish', object: 'draft', role: 'steward' },
  { method: 'GET', path: '/api/v1/datasets/{code}/grades', object: 'draft', role: 'consumer' },
  { method: 'PUT', path: '/api/v1/datasets/{code}/records', object: 'draft', role: 'steward', payload: [row] },
  { method: 'DELETE', path: '/api/v1/datasets/{code}/records/{key}', object: 'draft', role: 'steward' },
  { method: 'GET', path: '/api/v1/datasets/{code}/quality', object: 'draft', role: 'steward' },
  { method: 'GET', path: '/api/v1/datasets/{code}/corrections', object: 'draft', role: 'consumer' },
  { method: 'POST', path: '/api/v1/datasets/{code}/corrections', object: 'draft', role: 'consumer', payload: { recordKey: '2026000001', field: 'college', description: 'not mine' } },
  { method: 'GET', path: '/api/v1/datasets/{code}/corrections/{id}', object: 'correction', role: 'consumer', fixed: { code: 'students' } },
  {
    method: 'POST',
    path: '/api/v1/datasets/{code}/corrections/{id}/decision',
    object: 'correction',
    role: 'steward',
    fixed: { code: 'students' },
    payload: { decision: 'reject', reason: 'not mine' }
  },
  { method: 'GET', path: '/api/v1/datasets/{code}/retention', object: 'draft', role: 'consumer' },
  { method: 'GET', path: '/api/v1/datasets/{code}/open-reviews', object: 'draft', role: 'steward' },
  { method: 'POST', path: '/api/v1/datasets/{code}/open-reviews', object: 'draft', role: 'steward', payload: { decision: 'approve' } },
  { method: 'GET', path: '/api/v1/datasets/{code}/encryption', object: 'students', role: 'steward' },
  { method: 'GET', path: '/api/v1/masking/policies/{dataset}', object: 'students', role: 'steward' },
  { method: 'GET', path: '/api/v1/masking/policies/{dataset}/versions', object: 'students', role: 'steward' },
  { method: 'GET', path: '/api/v1/data/{dataset}/records', object: 'draft', role: 'consumer' },
  { method: 'GET', path: '/api/v1/data/{dataset}/schema', object: 'draft', role: 'steward' },
  { method: 'POST', path: '/api/v1/data/{dataset}/exports', object: 'draft', role: 'consumer', payload: {} },
  { method: 'GET', path: '/open/v1/datasets/{code}/records', object: 'draft', role: null },
  // the asset registry
  { method: 'GET', path: '/api/v1/systems/{id}', object: 'system', role: 'steward' },
  { method: 'PATCH', path: '/api/v1/systems/{id}', object: 'system', role: 'steward', payload: { name: 'Renamed' } },
  { method: 'POST', path: '/api/v1/systems/{id}/confirm', object: 'system', role: 'steward' },
  { method: 'DELETE', path: '/api/v1/systems/{id}', object: 'system', role: 'steward' },
  // destructions
  { method: 'GET', path: '/api/v1/destructions/{id}', object: 'destruction', role: 'steward' },
  { method: 'POST', path: '/api/v1/destructions/{id}/reviews', object: 'destruction', role: 'steward', payload: { decision: 'reject', reason: 'not mine' } },
  { method: 'GET', path: '/api/v1/destructions/{id}/certificate', object: 'executed', role: 'steward' },
  // consents and open requests
  { method: 'GET', path: '/api/v1/consents/{id}', object: 'consent', role: 'consumer' },
  { method: 'POST', path: '/api/v1/consents/{id}/withdrawal', object: 'consent', role: 'steward', payload: { reason: 'not mine' } },
  { method: 'GET', path: '/api/v1/open-requests/{id}', object: 'openRequest', role: 'steward' },
  // share requests, agreements, grants
  { method: 'GET', path: '/api/v1/share-requests/{id}', object: 'request', role: 'consumer' },
  { method: 'POST', path: '/api/v1/share-requests/{id}/reviews', object: 'request', role: 'steward', payload: { decision: 'approve', party: 'producer' } },
  { method: 'POST', path: '/api/v1/share-requests/{id}/commitment', object: 'request', role: 'consumer', payload: { accept: true } },
  { method: 'POST', path: '/api/v1/share-requests/{id}/withdrawal', object: 'request', role: 'consumer', payload: { reason: 'not mine' } },
  { method: 'GET', path: '/api/v1/agreements/{id}', object: 'agreement', role: 'steward' },
  { method: 'POST', path: '/api/v1/agreements/{id}/signatures', object: 'agreement', role: 'consumer', payload: { party: 'consumer' } },
  { method: 'GET', path: '/api/v1/grants/{id}', object: 'grant', role: 'consumer' },
  { method: 'POST', path: '/api/v1/grants/{id}/revoke', object: 'grant', role: 'steward', payload: { reason: 'not mine' } },
  { method: 'PATCH', path: '/api/v1/grants/{id}', object: 'grant', role: 'steward', payload: { reason: 'not mine', dailyRowQuota: 1 } },
  { method: 'POST', path: '/api/v1/grants/{id}/recertification', object: 'grant', role: 'steward', payload: { decision: 'revoke', reason: 'not mine' } },
  // exports
  { method: 'GET', path: '/api/v1/exports/{id}', object: 'export', role: 'consumer' },
  { method: 'GET', path: '/api/v1/exports/{id}/file', object: 'export', role: 'steward' }
]

/**
 * A published dataset is in everyone's catalog (GET /api/v1/datasets/{code} answers every unit), so
 * another unit's steward acting on it learns nothing from a 403 naming the producer; it must still
 * change nothing.
 */
export const PUBLISHED: ObjectCase[] = OBJECT_CASES
  .filter((c) => c.object === 'draft' && c.role !== null && c.method !== 'GET')
  .map((c) => ({ ...c, object: 'students' }))

const CROSS_UNIT_ONLY = 'callable only by roles that have no unit scope (the platform administrator, the office, auditors, supervisors): no other unit exists for them'

export const OBJECT_EXCEPTIONS: ObjectException[] = [
  { method: 'GET', path: '/api/v1/units/{code}', kind: 'public', reason: 'a unit\'s profile (name, data-protection officer) is the directory every unit reads' },
  { method: 'PATCH', path: '/api/v1/units/{code}', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'PUT', path: '/api/v1/datasets/{code}/encryption', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'POST', path: '/api/v1/datasets/{code}/grading-review', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'PUT', path: '/api/v1/masking/policies/{dataset}', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'POST', path: '/api/v1/open-requests/{id}/reviews', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  {
    method: 'GET',
    path: '/api/v1/open-requests/{id}/status',
    kind: 'public',
    reason: 'no token: the applicant\'s secret receipt is the key; an unknown id and a wrong receipt are the same 404 (test/authorization/open-requests.test.ts)'
  },
  { method: 'GET', path: '/api/v1/purposes/{code}', kind: 'public', reason: 'the campus\'s list of purposes, kept by the office, is every unit\'s to read' },
  { method: 'PATCH', path: '/api/v1/purposes/{code}', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'POST', path: '/api/v1/principals/{sub}/offboard', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'GET', path: '/api/v1/principals/{sub}/offboarding', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'POST', path: '/api/v1/audit/alerts/{id}/ack', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'GET', path: '/api/v1/audit/persons/{personKey}/accesses', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'GET', path: '/api/v1/audit/blacklist/{id}', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'POST', path: '/api/v1/audit/blacklist/{id}/lift', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'GET', path: '/api/v1/clients/{clientId}', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'PATCH', path: '/api/v1/clients/{clientId}', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'POST', path: '/api/v1/clients/{clientId}/disable', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'PUT', path: '/api/v1/clients/{clientId}/holder', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'PUT', path: '/api/v1/clients/{clientId}/agreement', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'POST', path: '/api/v1/destructions/{id}/witness', kind: 'cross-unit', reason: CROSS_UNIT_ONLY },
  { method: 'POST', path: '/api/v1/destructions/{id}/execute', kind: 'cross-unit', reason: CROSS_UNIT_ONLY }
]

/** Roles whose holders act for the whole campus, not for a unit. */
export const CROSS_UNIT_ROLES: readonly Role[] = ['system_admin', 'security_admin', 'auditor', 'supervisor', 'leadership']
