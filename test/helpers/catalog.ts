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
    ...overrides
  })
}
