import type { StoredField } from '../../src/db/database.js'
import { createDatasetRepository, type DatasetValues } from '../../src/catalog/datasets/repository.js'
import { createUnit, type TestApp } from './build.js'

/** A field as stored, with the defaults the API would give. */
export function field (name: string, type: StoredField['type'], extra: Partial<StoredField> = {}): StoredField {
  return {
    name,
    type,
    required: false,
    piType: null,
    sensitivity: 1,
    description: null,
    format: null,
    enum: null,
    pattern: null,
    maxLength: null,
    minimum: null,
    maximum: null,
    masking: null,
    ...extra
  }
}

/** The fields of the student fixture: ID number with its GB 11643 check, mobile, enumerations, dates. */
export const STUDENT_FIELDS: StoredField[] = [
  field('student_id', 'string', { required: true, piType: 'student_id', sensitivity: 3, pattern: '^[0-9]{10}$' }),
  field('name', 'string', { required: true, piType: 'name', sensitivity: 3, maxLength: 50 }),
  field('id_number', 'string', { piType: 'id_number', sensitivity: 3, format: 'id_number' }),
  field('phone', 'string', { piType: 'phone', sensitivity: 3, format: 'mobile' }),
  field('email', 'string', { piType: 'email', sensitivity: 3, format: 'email' }),
  field('college', 'string', { required: true, enum: ['CS', 'MATH', 'LAW'] }),
  field('year', 'integer', { minimum: 2000, maximum: 2100 }),
  field('gpa', 'number', { minimum: 0, maximum: 5 }),
  field('active', 'boolean'),
  field('enrolled_on', 'date'),
  field('updated', 'datetime')
]

/**
 * Stores a dataset straight through the repository (with its producer unit, created if missing):
 * for tests of what comes after the catalog entry (ingest, quality, registry).
 */
export async function insertDataset (h: TestApp, overrides: Partial<DatasetValues> = {}) {
  const producer = overrides.producer_unit ?? 'CS'
  if (!(await h.database.db.selectFrom('units').select('code').where('code', '=', producer).executeTakeFirst())) {
    await createUnit(h, producer)
  }
  const code = overrides.code ?? 'students'
  return await createDatasetRepository(h.database.db).insert({
    code,
    name: `Dataset ${code}`,
    description: null,
    producer_unit: producer,
    subject: `subject of ${code}`,
    category: 'student',
    grade: 'ordinary',
    national_grade: 'general',
    share_attribute: 'conditional',
    open_attribute: 'none',
    personnel_basic: true,
    update_frequency: 'daily',
    retention_days: 3650,
    holds_pi: true,
    sensitive_pi: false,
    children_pi: false,
    primary_key: ['student_id'],
    person_key: 'student_id',
    fields: STUDENT_FIELDS,
    sources: [],
    metadata_restricted: false,
    status: 'published',
    created_by: 'fixture',
    published_at: new Date(),
    // confirmed by the office, as every dataset the tests build on (a draft too: override to test the review)
    grading_status: 'confirmed',
    grading_decided_by: 'fixture',
    grading_decided_at: new Date(),
    ...overrides
  })
}

/** A complete collection record (R3.2), with the references sensitive or children's PI needs too. */
export const COLLECTION = {
  method: 'business_process',
  channel: 'student affairs system, nightly interface',
  scope: 'enrolled students: number, name, contact, college',
  frequency: 'daily',
  legalBasis: 'enrolment and student management duties',
  rules: 'https://xsc.example.edu.cn/privacy-notice',
  riskAssessment: { reference: 'XSC-PIA-2026-03', date: '2026-03-01' },
  necessityAssessment: { reference: 'XSC-NA-2026-01', date: '2026-02-20' },
  collectiveDecision: { reference: 'XSC-PARTY-2026-05 minutes', date: '2026-02-27' }
} as const

/** The office (security_admin) confirms a dataset's grading; a refusal fails the caller's setup. */
export async function confirmGrading (h: TestApp, code: string, review: Record<string, unknown> = {}) {
  const res = await h.as('security_admin', {
    method: 'POST', url: `/api/v1/datasets/${code}/grading-review`, payload: { decision: 'confirm', ...review }
  }, { unit: 'OFFICE', sub: 'office-admin' })
  if (res.statusCode !== 200) throw new Error(`grading review of ${code}: ${res.statusCode} ${res.body}`)
  return res.json()
}
