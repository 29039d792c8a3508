// A realistic app for the fuzzer: units, published datasets with records, an open dataset, a share
// request walked to its agreement and grant, a consent, a destruction proposal, a business system, a
// service client, an open request, a blacklist entry, an export. Returns the real values, by the
// names of the parameters and properties that take them.
import type { Role } from '../../../src/platform/auth/roles.js'
import type { TestApp } from '../../helpers/build.js'
import { createUnit } from '../../helpers/build.js'
import { insertDataset, STUDENT_FIELDS } from '../../helpers/catalog.js'
import { dataFixture, seedStudents } from '../../helpers/data.js'
import { grantFor } from '../../helpers/sharing.js'
import type { Known } from './arbitraries.js'

export interface Principal { role: Role, unit: string, sub: string }

/** Who calls, per role: the producer CS, the consumer MATH, the office. */
export const PRINCIPALS: Record<Role, Principal[]> = {
  system_admin: [{ role: 'system_admin', unit: 'OFFICE', sub: 'admin' }],
  security_admin: [{ role: 'security_admin', unit: 'OFFICE', sub: 'office-wang' }],
  auditor: [{ role: 'auditor', unit: 'OFFICE', sub: 'auditor-li' }],
  steward: [{ role: 'steward', unit: 'CS', sub: 'cs-steward' }, { role: 'steward', unit: 'MATH', sub: 'math-steward' }],
  consumer: [{ role: 'consumer', unit: 'MATH', sub: 'math-alice' }, { role: 'consumer', unit: 'LAW', sub: 'law-bob' }, { role: 'consumer', unit: 'CS', sub: 'cs-carol' }],
  supervisor: [{ role: 'supervisor', unit: 'OFFICE', sub: 'supervisor-zhao' }],
  leadership: [{ role: 'leadership', unit: 'LEAD', sub: 'vice-president' }]
}

async function ok (what: string, res: { statusCode: number, body: string }, expected = [200, 201, 202]): Promise<Record<string, unknown>> {
  if (!expected.includes(res.statusCode)) throw new Error(`fixture ${what}: ${res.statusCode} ${res.body}`)
  return JSON.parse(res.body) as Record<string, unknown>
}

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)

export interface Fixture {
  known: Known
  /** path parameter `id` → real ids by the path prefix that takes them */
  ids: Record<string, string[]>
}

export async function setupFixture (h: TestApp): Promise<Fixture> {
  const cs = PRINCIPALS.steward[0]!
  const math = PRINCIPALS.consumer[0]!
  const office = PRINCIPALS.security_admin[0]!
  // students (CS) with 30 records and a grant to MATH (api and export); grades walked through the API
  await dataFixture(h, 30, { request: { access_modes: ['api', 'export'] }, grant: { access_modes: ['api', 'export'] } })
  await createUnit(h, 'LAW')
  await insertDataset(h, { code: 'grades', producer_unit: 'CS', share_attribute: 'conditional', personnel_basic: false, subject: 'grades' })
  await insertDataset(h, { code: 'courses', producer_unit: 'CS', share_attribute: 'unconditional', personnel_basic: false, holds_pi: false, subject: 'courses', open_attribute: 'conditional' })
  await insertDataset(h, { code: 'opendata', producer_unit: 'CS', open_attribute: 'unconditional', subject: 'opendata', holds_pi: false })
  await insertDataset(h, { code: 'drafts', producer_unit: 'MATH', status: 'draft', published_at: null, subject: 'drafts' })
  await seedStudents(h, 10, 'opendata')
  await seedStudents(h, 5, 'courses')
  for (const code of ['opendata', 'courses']) {
    for (const who of [cs, office, PRINCIPALS.leadership[0]!]) {
      await ok(`open review of ${code}`, await h.as(who.role, { method: 'POST', url: `/api/v1/datasets/${code}/open-reviews`, payload: { decision: 'approve' } }, who))
    }
  }
  await grantFor(h)
  await ok('pending share request', await h.as('consumer', { method: 'POST', url: '/api/v1/share-requests', payload: { dataset: 'courses', fields: ['student_id', 'college'], purpose: 'timetabling', legalBasis: 'performance of statutory duties', accessModes: ['api'], validFrom: day(0), validUntil: day(90), dailyRowQuota: 100, thirdParty: false } }, math))
  await ok('purpose', await h.as('security_admin', { method: 'POST', url: '/api/v1/purposes', payload: { code: 'scholarship', nameZh: '奖助学金评定', nameEn: 'Scholarship assessment', description: 'scholarship applications' } }, office))
  const consent = await ok('consent', await h.as('steward', { method: 'POST', url: '/api/v1/consents', payload: { person: '2026000001', dataset: 'students', purposeCode: 'scholarship', kind: 'general', evidence: 'form SA-1', givenAt: new Date(Date.now() - 86_400_000).toISOString() } }, cs))
  const destruction = await ok('destruction', await h.as('steward', { method: 'POST', url: '/api/v1/destructions', payload: { dataset: 'students', scope: 'filter', filter: { college: 'LAW' }, reason: 'purpose fulfilled' } }, cs))
  const system = await ok('system', await h.as('steward', { method: 'POST', url: '/api/v1/systems', payload: { name: 'Student affairs', owner: { name: 'Li Wei', contact: 'liwei@example.edu.cn' }, datasets: ['students'] } }, cs))
  const client = await ok('client', await h.as('system_admin', { method: 'POST', url: '/api/v1/clients', payload: { name: 'student affairs system', unit: 'CS', roles: ['steward'], holder: 'cs-steward' } }, PRINCIPALS.system_admin[0]!))
  const openRequest = await ok('open request', await h.app.inject({ method: 'POST', url: '/api/v1/open-requests', payload: { dataset: 'courses', applicant: { name: 'Zhao Lei', organisation: 'Institute', contact: 'zhao@example.org', qualification: 'project 17' }, purpose: 'study', fields: ['student_id', 'college'], scope: 'the team' } }))
  const blocked = await ok('blacklist entry', await h.as('security_admin', { method: 'POST', url: '/api/v1/audit/blacklist', payload: { kind: 'principal', value: 'someone-else', reason: 'test' } }, office))
  const exported = await ok('export', await h.as('consumer', { method: 'POST', url: '/api/v1/data/students/exports', payload: { fields: ['student_id', 'college'] } }, math))

  const db = h.database.db
  const alerts = await db.selectFrom('audit_alerts').select('id').execute()
  const agreements = await db.selectFrom('agreements').select('id').execute()
  const grants = await db.selectFrom('grants').select('id').execute()
  const requests = await db.selectFrom('share_requests').select('id').execute()
  const str = (v: unknown) => String(v)

  const ids: Record<string, string[]> = {
    '/api/v1/systems/': [str(system.id)],
    '/api/v1/destructions/': [str(destruction.id)],
    '/api/v1/share-requests/': requests.map((r) => str(r.id)),
    '/api/v1/agreements/': agreements.map((r) => str(r.id)),
    '/api/v1/grants/': grants.map((r) => str(r.id)),
    '/api/v1/open-requests/': [str(openRequest.id)],
    '/api/v1/consents/': [str(consent.id)],
    '/api/v1/purposes/': ['scholarship'],
    '/api/v1/audit/alerts/': alerts.length > 0 ? alerts.map((a) => str(a.id)) : ['1'],
    '/api/v1/audit/blacklist/': [str(blocked.id)],
    '/api/v1/exports/': [str(exported.id)]
  }
  const units = ['CS', 'MATH', 'LAW', 'OFFICE']
  const datasets = ['students', 'grades', 'courses', 'opendata', 'drafts']
  const fields = STUDENT_FIELDS.map((f) => f.name)
  const known: Known = {
    unit: units,
    producer: units,
    consumerUnit: units,
    dataset: datasets,
    confirm: datasets,
    field: fields,
    fields,
    primaryKey: ['student_id'],
    personKey: ['student_id'],
    sensitive: fields,
    key: ['2026000001', '2026000002', '2026000030'],
    person: ['2026000001', '2026000002'],
    purposeCode: ['scholarship'],
    sub: ['math-alice', 'cs-steward', 'law-bob', 'someone-else'],
    holder: ['math-alice', 'cs-steward'],
    actor: ['math-alice', 'cs-steward'],
    value: ['someone-else', '10.9.8.0/24'],
    clientId: [str(client.clientId ?? client.id)],
    client_id: [str(client.clientId ?? client.id)],
    grant: grants.map((r) => str(r.id)),
    receipt: [str(openRequest.receipt)],
    cursor: ['', 'eyJ4IjoxfQ', 'AAAA'],
    // enumerations keep their own values; these are free strings the app gives meaning to
    college: ['CS', 'MATH', 'LAW']
  }
  return { known, ids }
}
