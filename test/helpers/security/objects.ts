import type { Role } from '../../../src/platform/auth/roles.js'
import { createUnit, type TestApp } from '../build.js'
import { insertDataset } from '../catalog.js'
import { dataFixture, MATH_READER } from '../data.js'
import { CS_STEWARD, file, MATH, OFFICE, review } from '../sharing.js'

export type Claims = { unit: string, sub: string }

/** One object of unit A (CS produces, MATH consumes), the way its owner reads it. */
export interface OwnedObject {
  id: string
  /** the owner's view of it: answers 200 while the object exists */
  owner: { role: Role, claims: Claims, url: string }
}

export type Objects = Record<ObjectName, OwnedObject>
export type ObjectName = 'draft' | 'students' | 'system' | 'destruction' | 'executed' | 'consent' | 'openRequest' | 'request' | 'agreement' | 'grant' | 'export' | 'correction'

const SUPERVISOR = { unit: 'OFFICE', sub: 'supervisor-zhou' }
const EXECUTOR = { unit: 'OFFICE', sub: 'office-li' }

async function ok (res: { statusCode: number, body: string }, expected: number, what: string) {
  if (res.statusCode !== expected) throw new Error(`${what}: ${res.statusCode} ${res.body}`)
  return JSON.parse(res.body)
}

async function settled (h: TestApp, id: string) {
  for (let i = 0; i < 600; i++) {
    const body = await ok(await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${id}` }, MATH_READER), 200, 'export')
    if (body.status !== 'queued' && body.status !== 'running') return body
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`export ${id} did not finish`)
}

/** A destruction of `dataset` taken all the way to its certificate. */
async function executedDestruction (h: TestApp, dataset: string) {
  const post = async (role: Role, url: string, payload: object, claims: Claims, status = 200) =>
    await ok(await h.as(role, { method: 'POST', url: `/api/v1/destructions${url}`, payload }, claims), status, `destruction ${url}`)
  const d = await post('steward', '', { dataset, scope: 'all', reason: 'fixture: end of retention' }, CS_STEWARD, 201)
  // the proposer takes no other part (one person, one part)
  await post('steward', `/${d.id as string}/reviews`, { decision: 'approve' }, { unit: 'CS', sub: 'cs-steward-2' })
  await post('security_admin', `/${d.id as string}/reviews`, { decision: 'approve' }, OFFICE)
  await post('supervisor', `/${d.id as string}/witness`, {}, SUPERVISOR)
  await post('security_admin', `/${d.id as string}/execute`, { confirm: dataset }, EXECUTOR)
  return d.id as string
}

/**
 * Every kind of object a unit owns, created through the API where it can be: unit CS produces
 * `students` (10 records, masked, granted to MATH for api and export), `grades` and `courses`, and
 * has a draft; MATH files share requests and exports. LAW, the other unit, owns nothing.
 */
export async function unitObjects (h: TestApp): Promise<Objects> {
  const fixture = await dataFixture(h, 10, { request: { access_modes: ['api', 'export'] }, grant: { access_modes: ['api', 'export'] } })
  await insertDataset(h, { code: 'drafty', subject: 'drafty', producer_unit: 'CS', status: 'draft', published_at: null })
  await insertDataset(h, { code: 'grades', subject: 'grades', producer_unit: 'CS', share_attribute: 'conditional', personnel_basic: false })
  await insertDataset(h, { code: 'courses', subject: 'courses', producer_unit: 'CS', open_attribute: 'conditional' })
  await insertDataset(h, { code: 'retired', subject: 'retired', producer_unit: 'CS' })
  await createUnit(h, 'LAW')

  const pending = await file(h)
  const approved = await file(h, { purpose: 'second request, to reach its agreement' })
  await ok(await review(h, approved.id, 'producer'), 200, 'producer review')
  const agreement = (await ok(await review(h, approved.id, 'office'), 200, 'office review')).agreement as string

  const exported = await ok(await h.as('consumer', { method: 'POST', url: '/api/v1/data/students/exports', payload: {} }, MATH_READER), 202, 'export')
  await settled(h, exported.id)

  const system = await ok(await h.as('steward', {
    method: 'POST', url: '/api/v1/systems', payload: { name: 'Student affairs', owner: { name: 'Owner', contact: 'owner@example.edu.cn' }, datasets: ['students'] }
  }, CS_STEWARD), 201, 'system')
  const destruction = await ok(await h.as('steward', {
    method: 'POST', url: '/api/v1/destructions', payload: { dataset: 'students', scope: 'all', reason: 'fixture: never executed' }
  }, CS_STEWARD), 201, 'destruction')
  const executed = await executedDestruction(h, 'retired')
  await ok(await h.as('security_admin', {
    method: 'POST', url: '/api/v1/purposes', payload: { code: 'scholarship', nameZh: '奖助学金评定', nameEn: 'Scholarship assessment', description: 'scholarship applications' }
  }, OFFICE), 201, 'purpose')
  const consent = await ok(await h.as('steward', {
    method: 'POST',
    url: '/api/v1/consents',
    payload: { person: '2026000001', dataset: 'students', purposeCode: 'scholarship', kind: 'general', evidence: 'form SA-1', givenAt: new Date(Date.now() - 86_400_000).toISOString() }
  }, CS_STEWARD), 201, 'consent')
  for (const [role, claims] of [['steward', CS_STEWARD], ['security_admin', OFFICE], ['leadership', { unit: 'LEAD', sub: 'leader' }]] as const) {
    await ok(await h.as(role, { method: 'POST', url: '/api/v1/datasets/courses/open-reviews', payload: { decision: 'approve' } }, claims), 201, 'open review')
  }
  const openRequest = await ok(await h.app.inject({
    method: 'POST',
    url: '/api/v1/open-requests',
    payload: {
      dataset: 'courses',
      applicant: { name: 'Zhao Lei', organisation: 'Institute', contact: 'zhaolei@example.org', qualification: 'project 17' },
      purpose: 'comparative study',
      fields: ['student_id', 'college'],
      scope: 'aggregates only'
    }
  }), 201, 'open request')

  const correction = await ok(await h.as('consumer', {
    method: 'POST', url: '/api/v1/datasets/students/corrections', payload: { recordKey: '2026000001', field: 'college', description: 'fixture: studies in MATH now' }
  }, MATH_READER), 201, 'correction')

  const steward = (url: string) => ({ role: 'steward' as const, claims: CS_STEWARD, url })
  return {
    draft: { id: 'drafty', owner: steward('/api/v1/datasets/drafty') },
    students: { id: 'students', owner: steward('/api/v1/datasets/students') },
    system: { id: system.id, owner: steward(`/api/v1/systems/${system.id as string}`) },
    destruction: { id: destruction.id, owner: steward(`/api/v1/destructions/${destruction.id as string}`) },
    executed: { id: executed, owner: steward(`/api/v1/destructions/${executed}/certificate`) },
    consent: { id: consent.id, owner: steward(`/api/v1/consents/${consent.id as string}`) },
    openRequest: { id: openRequest.id, owner: steward(`/api/v1/open-requests/${openRequest.id as string}`) },
    request: { id: pending.id, owner: { role: 'consumer', claims: MATH, url: `/api/v1/share-requests/${pending.id as string}` } },
    agreement: { id: agreement, owner: { role: 'consumer', claims: MATH, url: `/api/v1/agreements/${agreement}` } },
    grant: { id: fixture.grant.id, owner: { role: 'consumer', claims: MATH_READER, url: `/api/v1/grants/${fixture.grant.id}` } },
    export: { id: exported.id, owner: { role: 'consumer', claims: MATH_READER, url: `/api/v1/exports/${exported.id as string}` } },
    correction: { id: correction.id, owner: { role: 'consumer', claims: MATH_READER, url: `/api/v1/datasets/students/corrections/${correction.id as string}` } }
  }
}
