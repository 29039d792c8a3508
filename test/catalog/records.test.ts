import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { ENCRYPTED_MARK } from '../../src/catalog/encryption/codec.js'
import { createRecordRepository } from '../../src/catalog/records/repository.js'
import { loggerOptions } from '../../src/platform/logging.js'
import { createTokenIssuer } from '../../src/platform/auth/token.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { build, type TestApp } from '../helpers/build.js'
import { field, insertDataset } from '../helpers/catalog.js'

type Row = Record<string, unknown>
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const student = (n: number, extra: Row = {}): Row => ({
  student_id: String(2026000000 + n), name: `Student ${n}`, college: 'CS', ...extra
})
const ndjson = (rows: Row[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n'

interface PutOptions { dataset?: string, unit?: string, sub?: string, roles?: Role[], contentType?: string }

async function put (h: TestApp, rows: Row[] | string, o: PutOptions = {}) {
  const body = typeof rows === 'string' ? rows : o.contentType?.includes('ndjson') ? ndjson(rows) : JSON.stringify(rows)
  return await h.as(o.roles ?? ['steward'], {
    method: 'PUT',
    url: `/api/v1/datasets/${o.dataset ?? 'students'}/records`,
    payload: body,
    headers: { 'content-type': o.contentType ?? 'application/json' }
  }, { unit: o.unit ?? 'CS', sub: o.sub ?? 'steward-li' })
}

/** The dataset's records as stored, their sealed PI values opened into `data` (`raw`: the column as it is). */
async function stored (h: TestApp, dataset = 'students') {
  const rows = await h.database.db.selectFrom('records').selectAll().where('dataset_code', '=', dataset).orderBy('record_key').execute()
  const facts = await h.database.db.selectFrom('datasets').selectAll().where('code', '=', dataset).executeTakeFirstOrThrow()
  const codec = await h.app.encryption.codec(facts)
  return rows.map((r) => ({ ...r, raw: r.data, data: codec ? codec.decode(r.record_key, { ...r.data }, r.sealed) : r.data }))
}

/** What a refused request must leave untouched. */
async function writes (h: TestApp) {
  const count = async (table: 'records' | 'ingest_batches') =>
    Number((await h.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  // the fixture's unit registration is an event of its own; ingest's are about records
  const events = await h.database.db.selectFrom('domain_events').select((eb) => eb.fn.countAll().as('n')).where('object_type', '<>', 'unit').executeTakeFirstOrThrow()
  return { records: await count('records'), batches: await count('ingest_batches'), events: Number(events.n) }
}

t.test('the producer ingests JSON and NDJSON; records land with their provenance', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  const first = await put(h, [student(1, { id_number: '11010519491231002X', enrolled_on: '2026-09-01' }), student(2)])
  t.equal(first.statusCode, 200, first.body)
  t.match(first.json(), { accepted: 2, rejected: [], batch: UUID })

  // a service client of the unit, NDJSON with CRLF, a blank line and a charset parameter
  const issuer = createTokenIssuer(h.key, { issuer: h.config.JWT_ISSUER, audience: h.config.JWT_AUDIENCE, maxTtlSeconds: 600 })
  const token = issuer.sign({ sub: 'client:sis', unit: 'CS', roles: ['steward'], client: 'dgc_sis' }, 600)
  const second = await h.app.inject({
    method: 'PUT',
    url: '/api/v1/datasets/students/records',
    payload: `${JSON.stringify(student(3))}\r\n\r\n${JSON.stringify(student(4, { phone: 'x' }))}\n${JSON.stringify(student(5))}`,
    headers: { 'content-type': 'application/x-ndjson; charset=utf-8', authorization: `Bearer ${token}` }
  })
  t.equal(second.statusCode, 200, second.body)
  t.match(second.json(), { accepted: 2, rejected: [{ index: 1, errors: [{ field: 'phone' }] }], batch: UUID })

  const rows = await stored(h)
  t.same(rows.map((r) => r.record_key), ['2026000001', '2026000002', '2026000003', '2026000005'])
  t.same(rows[0]!.data, student(1, { id_number: '11010519491231002X', enrolled_on: '2026-09-01' }), 'the record as sent')
  t.match(rows[0]!.raw, { name: ENCRYPTED_MARK, id_number: ENCRYPTED_MARK }, 'its PI values sealed at rest')
  t.match(rows[0], { person_key: '2026000001', batch_id: first.json().batch, source_unit: 'CS', source_sub: 'steward-li', source_client: null })
  t.match(rows[2], { batch_id: second.json().batch, source_unit: 'CS', source_sub: 'client:sis', source_client: 'dgc_sis' })
  t.ok(rows[0]!.created_at instanceof Date)

  const batches = await h.database.db.selectFrom('ingest_batches').selectAll().orderBy('created_at').execute()
  t.match(batches, [
    { id: first.json().batch, dataset_code: 'students', unit: 'CS', sub: 'steward-li', client: null, format: 'json', received: 2, accepted: 2, rejected: 0, errors: {} },
    { id: second.json().batch, sub: 'client:sis', client: 'dgc_sis', format: 'ndjson', received: 3, accepted: 2, rejected: 1, errors: { phone: 1 } }
  ])

  const events = await h.database.db.selectFrom('domain_events').selectAll().where('object_type', '<>', 'unit').orderBy('id').execute()
  t.match(events, [
    { service: 'catalog', action: 'records.ingest', actor_sub: 'steward-li', actor_unit: 'CS', object_type: 'dataset', object_id: 'students', dataset_code: 'students', request_id: /./, details: { batch: first.json().batch, accepted: 2, rejected: 0 } },
    { action: 'records.ingest', actor_client: 'dgc_sis', details: { batch: second.json().batch, accepted: 2, rejected: 1, format: 'ndjson' } }
  ])
  t.notMatch(JSON.stringify(events), /2026000001|Student|11010519491231002X/, 'no record values in the events')
})

t.test('an upsert replaces data, person key and provenance and keeps created_at', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  await put(h, [student(1), student(2)])
  const [before] = await stored(h)
  await new Promise((resolve) => setTimeout(resolve, 20))
  const res = await put(h, [student(1, { name: 'Renamed', year: 2026 }), student(3)], { sub: 'steward-wang' })
  t.match(res.json(), { accepted: 2, rejected: [] })
  const rows = await stored(h)
  t.equal(rows.length, 3)
  const after = rows[0]!
  t.same(after.data, student(1, { name: 'Renamed', year: 2026 }))
  t.equal(after.created_at.getTime(), before!.created_at.getTime(), 'created_at kept')
  t.ok(after.updated_at.getTime() > before!.updated_at.getTime(), 'updated_at moved')
  t.equal(after.batch_id, res.json().batch)
  t.equal(after.source_sub, 'steward-wang')
  t.equal(rows[1]!.source_sub, 'steward-li', 'untouched records keep their provenance')

  const repository = createRecordRepository(h.database.db)
  const first = await repository.page('students', { limit: 2 })
  const rest = await repository.page('students', { limit: 2, after: first.at(-1)!.record_key })
  t.same([...first, ...rest].map((r) => r.record_key), ['2026000001', '2026000002', '2026000003'], 'keyset pages in key order')
})

t.test('every rule rejects its row, naming the index and the field; valid rows land', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  const cases: [Row, string, RegExp][] = [
    [{ id_number: '110105194912310021' }, 'id_number', /check digit/],
    [{ id_number: '110101199902290018' }, 'id_number', /birth date/],
    [{ enrolled_on: '2023-02-30' }, 'enrolled_on', /date/],
    [{ enrolled_on: '2026/09/01' }, 'enrolled_on', /date/],
    [{ updated: '2026-09-01 08:00' }, 'updated', /RFC 3339/],
    [{ phone: '1380013800' }, 'phone', /mobile/],
    [{ email: 'li@' }, 'email', /e-mail/],
    [{ college: 'ART' }, 'college', /one of CS, MATH, LAW/],
    [{ name: null }, 'name', /required/],
    [{ college: undefined }, 'college', /required/],
    [{ year: '2026' }, 'year', /integer/],
    [{ year: 2026.5 }, 'year', /integer/],
    [{ gpa: '3.9' }, 'gpa', /number/],
    [{ active: 'yes' }, 'active', /true or false/],
    [{ dorm: 'A-101' }, 'dorm', /not a field/],
    [{ student_id: '12345' }, 'student_id', /pattern/],
    [{ name: 'N'.repeat(51) }, 'name', /at most 50 characters/],
    [{ year: 1999 }, 'year', /at least 2000/],
    [{ gpa: 5.5 }, 'gpa', /at most 5/],
    [{ student_id: undefined }, 'student_id', /required/]
  ]
  const rows = [student(0), ...cases.map(([extra], i) => student(i + 1, extra)), student(1), student(99, { phone: '+8613800138000', active: true, gpa: 3.5, updated: '2026-09-01T08:00:00+08:00' })]
  const res = await put(h, rows)
  t.equal(res.statusCode, 200)
  const body = res.json() as { accepted: number, rejected: { index: number, errors: { field: string, message: string }[] }[] }
  t.equal(body.accepted, 2)
  t.equal(body.rejected.length, cases.length + 1)
  cases.forEach(([, name, message], i) => {
    const rejection = body.rejected.find((r) => r.index === i + 1)
    t.equal(rejection?.errors.length, 1, `row ${i + 1}: one error`)
    t.match(rejection?.errors[0], { field: name, message }, `row ${i + 1}: ${name} ${message}`)
  })
  t.same(body.rejected.at(-1), { index: cases.length + 1, errors: [{ field: 'student_id', message: 'repeats the key of row 1 of this batch' }] },
    'a repeated key: the later row is rejected')
  t.same((await stored(h)).map((r) => r.record_key), ['2026000000', '2026000099'], 'only valid rows are stored')
  const [batch] = await h.database.db.selectFrom('ingest_batches').selectAll().execute()
  t.match(batch, { received: rows.length, accepted: 2, rejected: cases.length + 1, errors: { id_number: 2, student_id: 3, year: 3, dorm: 1 } })
  t.notMatch(JSON.stringify(body), /110105194912310021|A-101|ART/, 'reasons name rules, not values')
})

t.test('batch size and body limits: 10,000 records pass, 10,001 are a 413 and write nothing', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  const many = Array.from({ length: 10_001 }, (_, i) => student(i, {
    email: `student.${i}@example.edu.cn`, enrolled_on: '2026-09-01', updated: '2026-09-01T08:00:00+08:00', year: 2026, gpa: 3.5, active: true
  }))
  for (const contentType of ['application/json', 'application/x-ndjson']) {
    const res = await put(h, many, { contentType })
    t.equal(res.statusCode, 413, contentType)
    t.match(res.json(), { code: 'CATALOG_BATCH_TOO_LARGE', detail: /at most 10000 records \(got 10001\)/ })
  }
  const huge = await put(h, `[${' '.repeat(33 * 1024 * 1024)}]`)
  t.equal(huge.statusCode, 413)
  t.equal(huge.json().code, 'BODY_TOO_LARGE')
  t.same(await writes(h), { records: 0, batches: 0, events: 0 }, 'nothing written')

  const full = many.slice(0, 10_000)
  t.ok(JSON.stringify(full).length > h.config.BODY_LIMIT_BYTES, 'larger than the platform body limit')
  const res = await put(h, full)
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  t.match(res.json(), { accepted: 10_000, rejected: [] })
  t.same(await writes(h), { records: 10_000, batches: 1, events: 1 })
})

t.test('refused requests write nothing', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  await insertDataset(h, { code: 'old_students', subject: 'old', status: 'retired' })
  await insertDataset(h, { code: 'gone', subject: 'gone', status: 'destroyed' })
  await insertDataset(h, { code: 'staff', subject: 'staff', producer_unit: 'HR' })
  const rows = [student(1)]
  const refusals: [string, () => ReturnType<typeof put>, number, string][] = [
    ['steward of another unit', () => put(h, rows, { unit: 'HR' }), 403, 'CATALOG_NOT_PRODUCER'],
    ['producer of another dataset', () => put(h, rows, { dataset: 'staff' }), 403, 'CATALOG_NOT_PRODUCER'],
    ['consumer of the producer unit', () => put(h, rows, { roles: ['consumer'] }), 403, 'AUTH_FORBIDDEN'],
    ['security_admin', () => put(h, rows, { roles: ['security_admin'] }), 403, 'AUTH_FORBIDDEN'],
    ['unknown dataset', () => put(h, rows, { dataset: 'nothing' }), 404, 'CATALOG_DATASET_NOT_FOUND'],
    ['retired dataset', () => put(h, rows, { dataset: 'old_students' }), 409, 'CATALOG_DATASET_STATE'],
    ['destroyed dataset', () => put(h, rows, { dataset: 'gone' }), 409, 'CATALOG_DATASET_STATE'],
    ['malformed NDJSON', () => put(h, '{"student_id": "2026000001"}\n{"name": ', { contentType: 'application/x-ndjson' }), 400, 'MALFORMED_NDJSON'],
    ['malformed JSON', () => put(h, '[{"student_id": ', {}), 400, 'MALFORMED_JSON'],
    ['empty batch', () => put(h, [], {}), 400, 'VALIDATION_FAILED'],
    ['a row that is not an object', () => put(h, '[{"student_id": "2026000001"}, 7]', {}), 400, 'VALIDATION_FAILED'],
    ['not an array', () => put(h, '{"student_id": "2026000001"}', {}), 400, 'VALIDATION_FAILED'],
    ['other media type', () => put(h, '<rows/>', { contentType: 'application/xml' }), 415, 'UNSUPPORTED_MEDIA_TYPE']
  ]
  for (const [label, send, status, code] of refusals) {
    const res = await send()
    t.equal(res.statusCode, status, label)
    t.equal(res.json().code, code, label)
  }
  t.match((await put(h, '{"a":1}\nnope\n', { contentType: 'application/x-ndjson' })).json(), { detail: /line 2/ }, 'the bad line is named')
  t.same(await writes(h), { records: 0, batches: 0, events: 0 }, 'nothing written')

  const draft = await insertDataset(h, { code: 'draft_students', subject: 'draft', status: 'draft' })
  t.equal((await put(h, rows, { dataset: draft.code })).statusCode, 200, 'a draft accepts records')
})

t.test('delete: the producer removes a record; others may not; the key never reaches the log', async (t) => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _enc, done) { lines.push(chunk.toString()); done() } })
  const h = await build(t, { logger: pino({ ...(loggerOptions('info') as pino.LoggerOptions), transport: undefined }, sink) })
  await insertDataset(h)
  await insertDataset(h, { code: 'old_students', subject: 'old', status: 'retired' })
  await put(h, [student(1), student(2)])
  const del = (url: string, roles: Role[] = ['steward'], unit = 'CS') => h.as(roles, { method: 'DELETE', url }, { unit })

  const refused: [() => ReturnType<typeof del>, number, string][] = [
    [() => del('/api/v1/datasets/students/records/2026000001', ['steward'], 'HR'), 403, 'CATALOG_NOT_PRODUCER'],
    [() => del('/api/v1/datasets/students/records/2026000001', ['consumer']), 403, 'AUTH_FORBIDDEN'],
    [() => del('/api/v1/datasets/nothing/records/2026000001'), 404, 'CATALOG_DATASET_NOT_FOUND'],
    [() => del('/api/v1/datasets/old_students/records/2026000001'), 409, 'CATALOG_DATASET_STATE'],
    [() => del('/api/v1/datasets/students/records/2026000009'), 404, 'CATALOG_RECORD_NOT_FOUND']
  ]
  for (const [send, status, code] of refused) {
    const res = await send()
    t.equal(res.statusCode, status, code)
    t.equal(res.json().code, code)
  }
  t.equal((await stored(h)).length, 2, 'nothing deleted')

  const res = await del('/api/v1/datasets/students/records/2026000001')
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.same((await stored(h)).map((r) => r.record_key), ['2026000002'])
  t.equal((await del('/api/v1/datasets/students/records/2026000001')).statusCode, 404, 'gone')

  const events = await h.database.db.selectFrom('domain_events').selectAll().where('action', '=', 'records.delete').execute()
  t.equal(events.length, 1)
  t.match(events[0], { actor_unit: 'CS', object_type: 'dataset', object_id: 'students', details: { keyDigest: /^[0-9a-f]{64}$/, batch: UUID } })
  t.notMatch(JSON.stringify(events), /2026000001/, 'the event does not carry the key')
  const log = lines.join('')
  t.match(log, /"path":"\/api\/v1\/datasets\/students\/records\/\{key\}"/, 'deletes are logged')
  t.notMatch(log, /2026000001/, 'the key is not logged')
})

t.test('composite keys: stored as a JSON array, addressed as values joined by ","', async (t) => {
  const h = await build(t)
  await insertDataset(h, {
    code: 'scores',
    subject: 'scores',
    primary_key: ['student_id', 'course'],
    person_key: 'student_id',
    fields: [field('student_id', 'string'), field('course', 'string'), field('score', 'integer', { minimum: 0, maximum: 100 })]
  })
  const res = await put(h, [
    { student_id: '2026000001', course: 'CS,101', score: 90 },
    { student_id: '2026000001', course: 'MA 201', score: 80 },
    { student_id: '2026000001', course: 'MA 201', score: 70 },
    { student_id: '2026000002', score: 70 }
  ], { dataset: 'scores' })
  t.match(res.json(), {
    accepted: 2,
    rejected: [
      { index: 2, errors: [{ field: 'student_id,course', message: /repeats the key of row 1/ }] },
      { index: 3, errors: [{ field: 'course', message: 'is required' }] }
    ]
  })
  t.same((await stored(h, 'scores')).map((r) => [r.record_key, r.person_key]), [
    ['["2026000001","CS,101"]', '2026000001'], ['["2026000001","MA 201"]', '2026000001']
  ])
  const bad = await h.as('steward', { method: 'DELETE', url: '/api/v1/datasets/scores/records/2026000001' }, { unit: 'CS' })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'VALIDATION_FAILED', errors: [{ in: 'params', field: 'key', message: /2 key values/ }] })
  for (const url of ['/api/v1/datasets/scores/records/2026000001,CS%2C101', '/api/v1/datasets/scores/records/2026000001,MA%20201']) {
    t.equal((await h.as('steward', { method: 'DELETE', url }, { unit: 'CS' })).statusCode, 204, url)
  }
  t.same(await stored(h, 'scores'), [])
})
