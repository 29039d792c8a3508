import t from 'tap'
import { parseNdjson } from '../../src/catalog/records/ndjson.js'
import type { StoredField } from '../../src/db/database.js'
import { idNumberCheckCharacter, idNumberProblem, isCalendarDate } from '../../src/platform/id-number.js'
import {
  compileField, compileRowValidator, isDate, isDateTime, isEmail, keyFromPath, keyPath, recordKey, validateBatch, type RecordSpec
} from '../../src/catalog/records/validate.js'
import { field, STUDENT_FIELDS } from '../helpers/catalog.js'

const students: RecordSpec = { fields: STUDENT_FIELDS, primaryKey: ['student_id'], personKey: 'student_id' }
const valid = { student_id: '2026000001', name: 'Wang Fang', college: 'CS' }

t.test('GB 11643 resident ID numbers: shape, birth date, check digit', async (t) => {
  t.equal(idNumberCheckCharacter('11010519491231002'), 'X')
  t.equal(idNumberCheckCharacter('44030420050101123'), '5')
  for (const ok of ['11010519491231002X', '440304200501011235', '110101200002290018']) t.equal(idNumberProblem(ok), null, ok)
  const bad: [string, RegExp][] = [
    ['110105194912310021', /check digit/], // one digit off
    ['11010519491231002x', /18 characters/], // lower-case x
    ['1101051949123100', /18 characters/],
    ['01010519491231002X', /18 characters/], // no region starts with 0
    ['110101199902290018', /birth date/], // 1999 is no leap year
    ['110101200013010011', /birth date/], // month 13
    ['110101179901010011', /birth date/], // before 1800
    ['110101' + '20991231' + '001' + idNumberCheckCharacter('11010120991231001'), /future/]
  ]
  for (const [value, reason] of bad) t.match(idNumberProblem(value, new Date('2026-11-24')), reason, value)
})

t.test('calendar dates and RFC 3339 date-times', async (t) => {
  t.ok(isCalendarDate(2024, 2, 29))
  t.notOk(isCalendarDate(2023, 2, 29))
  t.notOk(isCalendarDate(1900, 2, 29))
  t.ok(isCalendarDate(2000, 2, 29))
  for (const ok of ['2026-09-01', '2024-02-29', '0001-01-01']) t.ok(isDate(ok), ok)
  for (const bad of ['2023-02-30', '2023-02-29', '2026-13-01', '2026-00-10', '2026-9-1', '2026-09-01T00:00:00Z', '20260901', ' 2026-09-01']) {
    t.notOk(isDate(bad), bad)
  }
  for (const ok of ['2026-09-01T08:00:00Z', '2026-09-01t08:00:00.123456+08:00', '2016-12-31T23:59:60Z', '2026-09-01T08:00:00-05:30']) {
    t.ok(isDateTime(ok), ok)
  }
  for (const bad of ['2026-09-01T08:00:00', '2026-09-01 08:00:00Z', '2026-09-01T24:00:00Z', '2026-02-30T08:00:00Z',
    '2026-09-01T08:00:00+0800', '2026-09-01T08:00:00+08', '2026-09-01T08:60:00Z', '2026-09-01T08:00:00+24:00']) {
    t.notOk(isDateTime(bad), bad)
  }
})

t.test('e-mail and mobile formats', async (t) => {
  for (const ok of ['liwei@example.edu.cn', 'a.b+tag@mail.tsinghua.edu.cn', 'x_y@a-b.cn']) t.ok(isEmail(ok), ok)
  for (const bad of ['liwei', 'liwei@', '@example.cn', 'li wei@example.cn', 'liwei@localhost', 'a..b@example.cn', 'liwei@-x.cn', `${'a'.repeat(65)}@example.cn`]) {
    t.notOk(isEmail(bad), bad)
  }
  const mobile = compileField(field('phone', 'string', { format: 'mobile' }))
  for (const ok of ['13800138000', '19912345678', '+8613800138000']) t.equal(mobile(ok), null, ok)
  for (const bad of ['12800138000', '1380013800', '138001380000', '+86 13800138000', '8613800138000', '010-12345678']) {
    t.match(mobile(bad), /mainland mobile/, bad)
  }
})

t.test('each rule of a field, first failure only', async (t) => {
  const cases: [Parameters<typeof field>, unknown, RegExp | null][] = [
    [['n', 'integer'], 12, null],
    [['n', 'integer'], '12', /integer/],
    [['n', 'integer'], 1.5, /integer/],
    [['n', 'integer'], 2 ** 53, /integer/],
    [['n', 'number'], 1.5, null],
    [['n', 'number'], '1.5', /number/],
    [['b', 'boolean'], 'true', /true or false/],
    [['s', 'string'], 12, /string/],
    [['s', 'string', { enum: ['CS', 'MATH'] }], 'LAW', /one of CS, MATH/],
    [['n', 'integer', { enum: [1, 2] }], 1, null],
    [['s', 'string', { pattern: '^[0-9]{4}$' }], '12a4', /pattern/],
    [['s', 'string', { maxLength: 3 }], 'abcd', /at most 3 characters/],
    [['s', 'string', { maxLength: 2 }], '汉字', null],
    [['s', 'string', { maxLength: 2 }], '😀😀', null], // code points, not UTF-16 units
    [['n', 'number', { minimum: 0, maximum: 5 }], -1, /at least 0/],
    [['n', 'number', { minimum: 0, maximum: 5 }], 5.1, /at most 5/],
    [['d', 'date'], '2023-02-30', /date/],
    [['d', 'datetime'], '2026-09-01', /RFC 3339/],
    [['s', 'string', { format: 'email' }], 'nobody', /e-mail/],
    [['s', 'string', { format: 'id_number' }], '110105194912310021', /check digit/],
    [['s', 'string', { pattern: '([' }], 'x', /not a valid regular expression/],
    [['s', 'string', { maxLength: 1, format: 'email' }], 'toolong', /at most 1/]
  ]
  for (const [args, value, expected] of cases) {
    const message = compileField(field(...args))(value)
    if (expected === null) t.equal(message, null, `${JSON.stringify(args)} accepts ${JSON.stringify(value)}`)
    else t.match(message, expected, `${JSON.stringify(args)} refuses ${JSON.stringify(value)}`)
  }
})

t.test('a field stored without the newer rule keys has no such rules', async (t) => {
  t.equal(compileField({ name: 's', type: 'string', required: false } as StoredField)('anything'), null)
})

t.test('NDJSON bodies', async (t) => {
  t.same(parseNdjson('\uFEFF{"a":1}\r\n\r\n  \n{"a":2}', 10), [{ a: 1 }, { a: 2 }], 'BOM, CRLF and blank lines')
  t.same(parseNdjson('', 10), [])
  t.throws(() => parseNdjson('{"a":1}\n\n{"a":', 10), { code: 'MALFORMED_NDJSON', message: /line 3/ })
  t.throws(() => parseNdjson('1\n2\n3\n', 2), { code: 'CATALOG_BATCH_TOO_LARGE', statusCode: 413, message: /at most 2 records \(got 3\)/ })
  t.same(parseNdjson('1\n2\n\n', 2), [1, 2], 'exactly the limit')
})

t.test('rows: required, key fields, unknown fields, null', async (t) => {
  const validate = compileRowValidator({ ...students, fields: STUDENT_FIELDS.map((f) => ({ ...f, required: f.name === 'name' })) })
  t.same(validate(valid), [])
  t.same(validate({ ...valid, id_number: null, phone: undefined }), [], 'null and absent optional fields pass')
  t.same(validate({ name: 'x' }), [{ field: 'student_id', message: 'is required' }], 'a key field is required even when not declared so')
  t.same(validate({ ...valid, name: null }), [{ field: 'name', message: 'is required' }])
  t.same(validate({ ...valid, dorm: 'A1', constructor: 1 }).map((e) => e.field), ['dorm', 'constructor'])
  t.same(compileRowValidator(students)({ ...valid, college: undefined }).map((e) => e.field), ['college'])
})

t.test('batches: indexes, duplicate keys, person keys, counts', async (t) => {
  const rows = [
    valid,
    { ...valid, student_id: '2026000002', phone: '12345' },
    { ...valid, name: 'Someone Else' }, // repeats row 0's key
    { ...valid, student_id: '2026000003', gpa: '3.5', hobby: 'go' },
    { ...valid, student_id: '2026000004' }
  ]
  const outcome = validateBatch(students, rows)
  t.same(outcome.valid.map((r) => [r.key, r.personKey]), [['2026000001', '2026000001'], ['2026000004', '2026000004']])
  t.same(outcome.rejected, [
    { index: 1, errors: [{ field: 'phone', message: 'must be a mainland mobile number: 11 digits starting 13-19, optionally after +86' }] },
    { index: 2, errors: [{ field: 'student_id', message: 'repeats the key of row 0 of this batch' }] },
    { index: 3, errors: [{ field: 'gpa', message: 'must be a number' }, { field: 'hobby', message: 'is not a field of this dataset' }] }
  ])
  t.same(outcome.errorCounts, { phone: 1, student_id: 1, gpa: 1, hobby: 1 })
  t.equal(outcome.valid[0]!.data, valid, 'the row is stored as sent')

  const stray = validateBatch(students, [...JSON.parse('[{"student_id":"2026000009","name":"n","college":"CS","__proto__":1}]')])
  t.same(Object.keys(stray.errorCounts), ['__proto__'], 'a stray __proto__ is counted, not assigned')
})

t.test('composite keys: record_key, path form, duplicates', async (t) => {
  const spec: RecordSpec = {
    fields: [field('student_id', 'string'), field('term', 'string'), field('course', 'string'), field('score', 'integer')],
    primaryKey: ['student_id', 'term', 'course'],
    personKey: null
  }
  t.equal(recordKey(['2026000001']), '2026000001')
  t.equal(recordKey([42]), '42')
  t.equal(recordKey(['2026000001', '2026-1', 'a,b']), '["2026000001","2026-1","a,b"]')
  t.equal(keyPath(['2026000001', '2026-1', 'a,b']), '2026000001,2026-1,a%2Cb')
  t.equal(keyFromPath('2026000001,2026-1,a%2Cb', spec.primaryKey), '["2026000001","2026-1","a,b"]')
  t.equal(keyFromPath('2026000001,2026-1', spec.primaryKey), null, 'wrong arity')
  t.equal(keyFromPath('%E0%A4%A', ['id']), null, 'bad encoding')
  t.equal(keyFromPath('a%2Cb', ['id']), 'a,b', 'a one-field key is the whole segment')

  const row = { student_id: '2026000001', term: '2026-1', course: 'CS101', score: 90 }
  const outcome = validateBatch(spec, [row, { ...row, score: 80 }, { ...row, course: 'CS102' }, { ...row, term: undefined }])
  t.same(outcome.valid.map((r) => r.key), ['["2026000001","2026-1","CS101"]', '["2026000001","2026-1","CS102"]'])
  t.same(outcome.valid[0]!.personKey, null)
  t.same(outcome.rejected, [
    { index: 1, errors: [{ field: 'student_id,term,course', message: 'repeats the key of row 0 of this batch' }] },
    { index: 3, errors: [{ field: 'term', message: 'is required' }] }
  ])
  const long = validateBatch(spec, [{ ...row, course: '课'.repeat(40) }])
  t.match(long.rejected[0]!.errors, [{ field: 'student_id,term,course', message: /too long/ }], 'a key too long to address is refused')
})
