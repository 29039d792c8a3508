import t from 'tap'
import { checkRowFilter, rowFilterSql, type RowFilter } from '../../src/platform/row-filter.js'
import { FieldError } from '../../src/platform/errors.js'
import { build } from '../helpers/build.js'
import { insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'

const ROWS = [
  { student_id: '2023000001', name: 'A', college: 'CS', year: 2023, gpa: 3.5, active: true, enrolled_on: '2023-09-01' },
  { student_id: '2023000002', name: 'B', college: 'MATH', year: 2023, gpa: 2.9, active: false, enrolled_on: '2023-09-01' },
  { student_id: '2024000003', name: 'C', college: 'CS', year: 2024, gpa: 3.9, active: true, enrolled_on: '2024-09-01' },
  { student_id: '2022000004', name: "O'Brien", college: 'LAW', year: 2022, gpa: 3.0, active: true, enrolled_on: '2022-09-01' }
]

t.test('filters select exactly the rows they describe, on the database', async (t) => {
  const h = await build(t)
  await insertDataset(h, { code: 'students' })
  for (const row of ROWS) {
    await h.database.db.insertInto('records').values({
      dataset_code: 'students',
      record_key: row.student_id,
      data: JSON.stringify(row),
      person_key: row.student_id,
      batch_id: '00000000-0000-4000-8000-000000000001',
      source_unit: 'CS',
      source_sub: 'fixture',
      source_client: null
    }).execute()
  }
  const keys = async (filter: Record<string, unknown>) => {
    const checked = checkRowFilter(filter, STUDENT_FIELDS)
    const rows = await h.database.db.selectFrom('records').select('record_key')
      .where('dataset_code', '=', 'students').where(rowFilterSql(checked, STUDENT_FIELDS)).orderBy('record_key').execute()
    return rows.map((r) => r.record_key.slice(-1))
  }
  t.same(await keys({}), ['4', '1', '2', '3'], 'no conditions: every row (ordered by key)')
  t.same(await keys({ college: 'CS' }), ['1', '3'])
  t.same(await keys({ year: { in: [2022, 2024] } }), ['4', '3'])
  t.same(await keys({ gpa: { gte: 3.5 } }), ['1', '3'])
  t.same(await keys({ gpa: { lt: 3 } }), ['2'])
  t.same(await keys({ college: { ne: 'CS' } }), ['4', '2'])
  t.same(await keys({ active: false }), ['2'])
  t.same(await keys({ enrolled_on: { gt: '2023-01-01' } }), ['1', '2', '3'])
  t.same(await keys({ college: 'CS', year: 2024 }), ['3'], 'conditions are ANDed')
  t.same(await keys({ name: "O'Brien" }), ['4'], 'values are parameters, quotes and all')
  t.same(await keys({ college: "CS' or '1'='1" }), [], 'an injection attempt is just a value that matches nothing')
  // a field dropped from the dataset after the grant: the condition matches nothing (deny)
  const gone = rowFilterSql({ removed: 'x' } as RowFilter, STUDENT_FIELDS)
  t.same(await h.database.db.selectFrom('records').select('record_key').where(gone).execute(), [])
})

t.test('bad filters name the offending part', async (t) => {
  const bad: [Record<string, unknown>, string][] = [
    [{ nope: 1 }, 'rowFilter.nope'],
    [{ year: '2023' }, 'rowFilter.year'],
    [{ year: 2023.5 }, 'rowFilter.year'],
    [{ year: { between: [1, 2] } }, 'rowFilter.year.between'],
    [{ year: { in: [] } }, 'rowFilter.year.in'],
    [{ year: { in: Array.from({ length: 201 }, (_, i) => i) } }, 'rowFilter.year.in'],
    [{ year: { gt: 1, lt: 3 } }, 'rowFilter.year'],
    [{ year: null }, 'rowFilter.year'],
    [{ active: { lte: true } }, 'rowFilter.active.lte'],
    [{ enrolled_on: '1 Sept' }, 'rowFilter.enrolled_on'],
    [{ updated: 'yesterday' }, 'rowFilter.updated'],
    [Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`f${i}`, 1])), 'rowFilter']
  ]
  for (const [filter, field] of bad) {
    try {
      checkRowFilter(filter, STUDENT_FIELDS)
      t.fail(`accepted ${JSON.stringify(filter).slice(0, 60)}`)
    } catch (err) {
      t.ok(err instanceof FieldError, 'a field error')
      t.equal((err as FieldError).field, field, JSON.stringify(filter).slice(0, 60))
    }
  }
})
