import { randomUUID } from 'node:crypto'
import { sealRecords } from '../../src/catalog/encryption/seal-records.js'
import { createRecordRepository } from '../../src/catalog/records/repository.js'
import type { ValidRecord } from '../../src/catalog/records/validate.js'
import type { TestApp } from './build.js'
import { insertDataset } from './catalog.js'
import { insertGrant, type GrantFixture } from './grants.js'

/** Student n of the `students` fixture: every field filled, colleges and years spread. */
export function studentRow (n: number): Record<string, unknown> {
  return {
    student_id: String(2026000000 + n),
    name: `张${String.fromCharCode(0x4e00 + (n % 500))}${n}`,
    id_number: '11010519491231002X',
    phone: `138${String(n).padStart(8, '0')}`,
    email: `s${n}@example.edu.cn`,
    college: ['CS', 'MATH', 'LAW'][n % 3],
    year: 2020 + (n % 5),
    gpa: Math.round((n % 50) / 10 * 100) / 100,
    active: n % 2 === 0,
    enrolled_on: `202${n % 5}-09-01`,
    updated: '2026-11-01T08:00:00.000Z'
  }
}

/**
 * Stores `count` students (keys 2026000001…) straight through the record repository, sealed as
 * ingest seals them (their PI fields, with blind indexes and kept masked forms).
 */
export async function seedStudents (h: TestApp, count: number, dataset = 'students') {
  const repo = createRecordRepository(h.database.db)
  const facts = await h.database.db.selectFrom('datasets').selectAll().where('code', '=', dataset).executeTakeFirstOrThrow()
  for (let start = 1; start <= count; start += 5000) {
    const rows: ValidRecord[] = []
    for (let n = start; n < Math.min(count + 1, start + 5000); n++) {
      const data = studentRow(n)
      rows.push({ key: String(data.student_id), personKey: String(data.student_id), data })
    }
    if (h.app.hasDecorator('encryption')) await sealRecords(h.app.encryption, facts, rows, h.database.db)
    await repo.ingest({
      batch: randomUUID(),
      dataset,
      unit: 'CS',
      sub: 'fixture',
      client: null,
      format: 'json',
      received: rows.length,
      accepted: rows.length,
      rejected: 0,
      errors: {}
    }, rows)
  }
}

/**
 * The data-path fixture: the `students` dataset of CS with `count` records and an active grant to
 * MATH (default: student_id, name, phone, college, year; masked; api mode).
 */
export async function dataFixture (h: TestApp, count = 30, overrides: Parameters<typeof insertGrant>[1] = {}): Promise<GrantFixture> {
  if (!(await h.database.db.selectFrom('datasets').select('code').where('code', '=', 'students').executeTakeFirst())) {
    await insertDataset(h)
    await seedStudents(h, count)
  }
  return await insertGrant(h, {
    ...overrides,
    request: { fields: ['student_id', 'name', 'phone', 'college', 'year'], ...overrides.request },
    grant: { fields: overrides.request?.fields ?? ['student_id', 'name', 'phone', 'college', 'year'], ...overrides.grant }
  })
}

/** A consumer of MATH (the fixture grant's unit). */
export const MATH_READER = { unit: 'MATH', sub: 'math-reader' }
