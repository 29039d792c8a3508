import type { LightMyRequestResponse } from 'fastify'
import type { Role } from '../../src/platform/auth/roles.js'
import { createUnit, type TestApp } from './build.js'
import { insertDataset } from './catalog.js'

/** Who acts in the sharing tests: a consumer unit MATH, the producer CS, a bystander LAW, the office. */
export const MATH = { unit: 'MATH', sub: 'math-alice' }
export const MATH_STEWARD = { unit: 'MATH', sub: 'math-steward' }
export const CS_STEWARD = { unit: 'CS', sub: 'cs-steward' }
export const LAW = { unit: 'LAW', sub: 'law-bob' }
export const LAW_STEWARD = { unit: 'LAW', sub: 'law-steward' }
export const OFFICE = { unit: 'OFFICE', sub: 'office-wang' }

export const day = (offset: number) => new Date(Date.now() + 8 * 3_600_000 + offset * 86_400_000).toISOString().slice(0, 10)

/**
 * Units and four published datasets of CS, one per workflow:
 * `students` conditional basic personnel data (office alone), `grades` conditional (producer, office,
 * agreement), `courses` unconditional, `secrets` not shareable.
 */
export async function sharingSetup (h: TestApp) {
  await insertDataset(h, { code: 'students', producer_unit: 'CS', share_attribute: 'conditional', personnel_basic: true })
  await insertDataset(h, { code: 'grades', producer_unit: 'CS', share_attribute: 'conditional', personnel_basic: false })
  await insertDataset(h, { code: 'courses', producer_unit: 'CS', share_attribute: 'unconditional', personnel_basic: false, holds_pi: false })
  await insertDataset(h, { code: 'secrets', producer_unit: 'CS', share_attribute: 'none', personnel_basic: false })
  for (const unit of ['MATH', 'LAW']) await createUnit(h, unit)
}

export function requestBody (overrides: Record<string, unknown> = {}) {
  return {
    dataset: 'grades',
    fields: ['student_id', 'college', 'gpa'],
    rowFilter: { college: 'CS' },
    purpose: 'scholarship assessment',
    legalBasis: 'performance of statutory duties',
    accessModes: ['api'],
    validFrom: day(0),
    validUntil: day(180),
    dailyRowQuota: 5000,
    thirdParty: false,
    ...overrides
  }
}

type Claims = { unit: string, sub: string }

export async function call (h: TestApp, role: Role | Role[], claims: Claims, method: 'GET' | 'POST', url: string, payload?: object): Promise<LightMyRequestResponse> {
  return await h.as(role, { method, url, ...(payload ? { payload } : {}) }, claims)
}

/** Files a request as MATH's consumer; fails the test helper on anything but 201. */
export async function file (h: TestApp, overrides: Record<string, unknown> = {}, claims: Claims = MATH) {
  const res = await call(h, 'consumer', claims, 'POST', '/api/v1/share-requests', requestBody(overrides))
  if (res.statusCode !== 201) throw new Error(`filing: ${res.statusCode} ${res.body}`)
  return res.json()
}

export const review = async (h: TestApp, id: string, who: 'office' | 'producer', body: object = { decision: 'approve' }) =>
  who === 'office'
    ? await call(h, 'security_admin', OFFICE, 'POST', `/api/v1/share-requests/${id}/reviews`, body)
    : await call(h, 'steward', CS_STEWARD, 'POST', `/api/v1/share-requests/${id}/reviews`, body)

export const commit = async (h: TestApp, id: string, claims: Claims = MATH) =>
  await call(h, 'consumer', claims, 'POST', `/api/v1/share-requests/${id}/commitment`, { accept: true })

export const sign = async (h: TestApp, agreement: string, party: 'consumer' | 'producer' | 'office') => {
  const [role, claims]: [Role, Claims] = party === 'consumer' ? ['consumer', MATH] : party === 'producer' ? ['steward', CS_STEWARD] : ['security_admin', OFFICE]
  return await call(h, role, claims, 'POST', `/api/v1/agreements/${agreement}/signatures`, { party })
}

/** Walks a `grades` request all the way to its grant; returns the request as it ends. */
export async function grantFor (h: TestApp, overrides: Record<string, unknown> = {}) {
  const filed = await file(h, overrides)
  await review(h, filed.id, 'producer')
  const approved = (await review(h, filed.id, 'office')).json()
  await commit(h, filed.id)
  for (const party of ['consumer', 'producer', 'office'] as const) await sign(h, approved.agreement, party)
  return (await call(h, 'consumer', MATH, 'GET', `/api/v1/share-requests/${filed.id}`)).json()
}
