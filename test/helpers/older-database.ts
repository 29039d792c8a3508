import { readdirSync } from 'node:fs'
import type { Kysely } from 'kysely'
import { createMigrator, migrationsDir } from '../../src/db/migrator.js'
import type { TestContext } from './build.js'
import { freshDatabase } from './database.js'

const ALL = readdirSync(migrationsDir).filter((f) => /^\d{4}_.*\.(ts|js)$/.test(f)).map((f) => f.replace(/\.(ts|js)$/, '')).sort()

/**
 * A fresh database migrated down to the release before `migration`, for tests of how that migration
 * upgrades existing rows; torn down with the test. Rows go in through an untyped Kysely: the schema
 * is older than the Database type.
 */
export async function databaseBefore (t: TestContext & { error (err: unknown, message: string): void }, migration: string) {
  const before = ALL[ALL.indexOf(migration) - 1]!
  const testDb = await freshDatabase()
  t.teardown(() => testDb.destroy())
  const handle = await testDb.open()
  t.teardown(() => handle.close())
  const { error } = await createMigrator(handle.db).migrateTo(before)
  t.error(error, `down to ${before}`)
  return { handle, db: handle.db as unknown as Kysely<any>, before }
}

/** A dataset row as releases before 0016 stored it (no grading, no collection). */
export function legacyDataset (code: string, overrides: Record<string, unknown> = {}) {
  return {
    code,
    name: code,
    producer_unit: 'CS',
    subject: code,
    category: 'student',
    grade: 'ordinary',
    national_grade: 'general',
    share_attribute: 'conditional',
    open_attribute: 'none',
    personnel_basic: false,
    update_frequency: 'daily',
    retention_days: 365,
    holds_pi: true,
    sensitive_pi: false,
    children_pi: false,
    primary_key: ['id'],
    fields: JSON.stringify([{ name: 'id', type: 'string', required: true, piType: 'student_id', sensitivity: 3 }]),
    sources: [],
    metadata_restricted: false,
    status: 'published',
    created_by: 'old',
    published_at: new Date(),
    ...overrides
  }
}
