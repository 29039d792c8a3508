// Exports (POST /api/v1/data/{dataset}/exports, GET /api/v1/exports[/{id}[/file]]) and leak tracing
// (POST /api/v1/watermarks/trace): granted, masked, watermarked CSV files written in the background,
// downloaded only once audited, and traced back from a fragment to their export, grant, unit and person.
import { createHash, randomUUID } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { buildApp } from '../../src/app.js'
import { createRecordRepository } from '../../src/catalog/records/repository.js'
import { dataPathOf } from '../../src/gateway/data/plugin.js'
import { exportsOf } from '../../src/gateway/exports/plugin.js'
import { campusToday } from '../../src/platform/calendar.js'
import { build, type TestApp } from '../helpers/build.js'
import { dataFixture, MATH_READER, studentRow } from '../helpers/data.js'
import { insertGrant } from '../helpers/grants.js'
import type { AccessMode } from '../../src/authorization/index.js'

type Row = Record<string, unknown>
type Claims = { unit: string, sub: string }
type Role = Parameters<TestApp['as']>[0]
const LAW_READER = { unit: 'LAW', sub: 'law-reader' }
const OFFICE = { unit: 'OFFICE', sub: 'office-wang' }
const API_AND_EXPORT: AccessMode[] = ['api', 'export']
const BOTH = { request: { access_modes: API_AND_EXPORT }, grant: { access_modes: API_AND_EXPORT } }
const MARK = /(?:\u200B|\u200C|\u200D|\u2060){4}$/
const FORMULA = /^[=+\-@\t\r]/

/** A strict RFC 4180 reader, independent of the one under test: every record, quotes undone. */
function parseCsv (text: string): string[][] {
  const records: string[][] = []
  const cell = /("(?:[^"]|"")*"|[^",\r\n]*)(,|\r\n|$)/y
  let record: string[] = []
  while (cell.lastIndex < text.length) {
    const m = cell.exec(text)
    if (!m) throw new Error(`not RFC 4180 at ${cell.lastIndex}`)
    const raw = m[1]!
    record.push(raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw)
    if (m[2] !== ',') { records.push(record); record = [] }
    if (m[2] === '') break
  }
  return records
}

const strip = (cell: string) => cell.replace(MARK, '')
/** What a cell holds once the file is read: as format.ts writes a value, formula-like text defused. */
const canon = (v: unknown) => v === null || v === undefined ? '' : typeof v === 'string' ? (FORMULA.test(v) ? `'${v}` : v) : String(v)
const toCsv = (rows: string[][]) => rows.map((r) => r.map((c) => /[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c).join(',')).join('\r\n') + '\r\n'

async function createExport (h: TestApp, payload: object = {}, claims: Claims = MATH_READER, role: Role = 'consumer', dataset = 'students') {
  return await h.as(role, { method: 'POST', url: `/api/v1/data/${dataset}/exports`, payload }, claims)
}

/** Polls the export until it is no longer queued or running (generous bound, no timing assumption). */
async function settled (h: TestApp, id: string, claims: Claims = MATH_READER) {
  for (let i = 0; i < 600; i++) {
    const res = await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${id}` }, claims)
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
    const body = res.json()
    if (body.status !== 'queued' && body.status !== 'running') return body
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`export ${id} did not finish`)
}

async function exportAndDownload (h: TestApp, payload: object = {}, claims: Claims = MATH_READER) {
  const created = await createExport(h, payload, claims)
  if (created.statusCode !== 202) throw new Error(`${created.statusCode} ${created.body}`)
  const done = await settled(h, created.json().id, claims)
  if (done.status !== 'done') throw new Error(`export ${done.status}: ${done.error}`)
  const file = await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${done.id}/file` }, claims)
  if (file.statusCode !== 200) throw new Error(`${file.statusCode} ${file.body}`)
  return { created, done, file, records: parseCsv(file.body) }
}

async function trace (h: TestApp, csv: string, role: Role = 'security_admin') {
  return await h.as(role, { method: 'POST', url: '/api/v1/watermarks/trace', payload: csv, headers: { 'content-type': 'text/csv; charset=utf-8' } }, OFFICE)
}

async function eventOf (h: TestApp, seq: unknown) {
  await auditLogOf(h.app.db)!.flush()
  return await h.database.db.selectFrom('audit_events').selectAll().where('seq', '=', String(seq)).executeTakeFirstOrThrow()
}

/** Every row the grant gives through the read API, under the same filters. */
async function readAll (h: TestApp, query: string, claims: Claims = MATH_READER) {
  const rows: Row[] = []
  let cursor: string | null = null
  do {
    const res = await h.as('consumer', { method: 'GET', url: `/api/v1/data/students/records?limit=1000${query}${cursor ? `&cursor=${cursor}` : ''}` }, claims)
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
    rows.push(...res.json().data as Row[])
    cursor = res.json().nextCursor
  } while (cursor)
  return rows
}

/** Random order, deterministic. */
function shuffled<T> (items: T[], seed = 7): T[] {
  const out = [...items]
  let s = seed
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

async function addStudent (h: TestApp, data: Row) {
  await createRecordRepository(h.database.db).ingest({
    batch: randomUUID(), dataset: 'students', unit: 'CS', sub: 'fixture', client: null, format: 'json', received: 1, accepted: 1, rejected: 0, errors: {}
  }, [{ key: String(data.student_id), personKey: String(data.student_id), data }])
}

t.test('an export writes the granted, masked, filtered rows as a watermarked CSV, downloaded once audited', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 1200, BOTH)
  // formula-like and quote-holding text: defused and quoted, never turned into a formula by a mark
  await addStudent(h, { ...studentRow(5000), student_id: '2026999999', name: '=HYPERLINK("x"),1', college: 'CS' })

  const created = await createExport(h, { where: { college: { in: ['CS', 'MATH'] } } })
  t.equal(created.statusCode, 202, created.body)
  const job = created.json()
  t.match(job, { dataset: 'students', grant: grant.id, unit: 'MATH', sub: 'math-reader', fields: ['student_id', 'name', 'phone', 'college', 'year'], rowsTotal: 801 })
  t.ok(['queued', 'running', 'done'].includes(job.status))
  t.equal(created.headers.location, `/api/v1/exports/${job.id}`)
  t.match(await eventOf(h, created.headers['x-audit-event']), {
    action: 'export', operation: 'data.export.create', object_id: job.id, grant_id: grant.id, actor_sub: 'math-reader', dataset_code: 'students'
  }, 'the export is audited when it is asked for')

  const done = await settled(h, job.id)
  t.match(done, { status: 'done', rowsTotal: 801, rowsWritten: 801, progress: 1, error: null, file: `/api/v1/exports/${job.id}/file` })
  t.ok(done.expiresAt > done.finishedAt, 'it expires later')

  const file = await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${job.id}/file` }, MATH_READER)
  t.equal(file.statusCode, 200)
  t.match(file.headers['content-type'], /^text\/csv/)
  t.equal(createHash('sha256').update(file.rawPayload).digest('hex'), done.sha256, 'the file matches its recorded digest')
  t.equal(file.headers['repr-digest'], `sha-256=:${Buffer.from(done.sha256, 'hex').toString('base64')}:`)
  t.equal(file.rawPayload.length, done.bytes)

  const records = parseCsv(file.body)
  t.same(records[0], ['student_id', 'name', 'phone', 'college', 'year'], 'a header line of the granted fields')
  const rows = records.slice(1)
  const decoys = await h.database.db.selectFrom('export_decoys').selectAll().where('export_id', '=', job.id).execute()
  t.equal(decoys.length, 3, 'at least three decoys')
  t.equal(rows.length, 801 + decoys.length, 'the granted rows under the filters, and the decoys')
  t.ok(rows.every((r) => r.length === 5), 'every row has every column')
  t.notOk(file.body.includes('11010519491231002X') || file.body.includes('@example.edu.cn'), 'no ungranted field')
  t.ok(rows.every((r) => r.every((c) => !FORMULA.test(c))), 'no cell reads as a formula')

  const names = rows.map((r) => r[1]!)
  t.ok(names.every((c) => MARK.test(c)), 'text cells carry an invisible mark')
  t.ok(rows.every((r) => MARK.test(r[2]!)), 'masked phones too')
  t.ok(rows.every((r) => !MARK.test(r[0]!) && !MARK.test(r[3]!) && !MARK.test(r[4]!)), 'keys, code-table values and numbers are left as they are')

  // once marks are stripped, the rows are what the read API gives under the same grant and filters
  const api = await readAll(h, '&where[college][in]=CS,MATH')
  t.equal(api.length, 801)
  const fromFile = new Map<string, number>()
  for (const r of rows) { const k = r.map(strip).join('\u0001'); fromFile.set(k, (fromFile.get(k) ?? 0) + 1) }
  for (const r of api) {
    const k = ['student_id', 'name', 'phone', 'college', 'year'].map((f) => canon(r[f])).join('\u0001')
    const n = fromFile.get(k) ?? 0
    if (n === 0) { t.fail(`row missing from the file: ${k}`); break }
    fromFile.set(k, n - 1)
  }
  t.equal([...fromFile.values()].reduce((a, b) => a + b, 0), decoys.length, 'every other row is a decoy')
  t.ok(rows.some((r) => r[1]!.startsWith('\'=')), 'the formula-like name is defused')
  t.ok(rows.every((r) => /^\d{4}\*+\d{2,4}$/.test(r[0]!) && /^138\*{4}\d{4}$/.test(strip(r[2]!))), 'decoys are masked like real rows')
  t.ok(rows.every((r) => ['CS', 'MATH'].includes(r[3]!)), 'decoys keep within the filters')

  const event = await eventOf(h, file.headers['x-audit-event'])
  t.match(event, { action: 'export', operation: 'data.export.download', outcome: 'success', object_id: job.id, grant_id: grant.id, actor_sub: 'math-reader' })
  t.equal(Number(event.row_count), 801)
  t.match(event.details, { sha256: done.sha256, bytes: done.bytes, decoys: 3, filters: { college: 'in' } })
  t.notOk(JSON.stringify(event).includes('CS","MATH'), 'filter values are not in the log')

  const files = readdirSync(exportsOf(h.app.db)!.dir)
  t.same(files, [`${job.id}.csv.sealed`], 'one file, sealed')
  t.notOk(readdirSync(exportsOf(h.app.db)!.dir).some((f) => f.endsWith('.part')))
  const listed = await h.as('consumer', { method: 'GET', url: '/api/v1/exports' }, MATH_READER)
  t.match(listed.json(), { data: [{ id: job.id, status: 'done' }], nextCursor: null })
})

t.test('two units export the same rows: the files differ, and re-ordered fragments of two columns trace to their own export only', async (t) => {
  const h = await build(t)
  await dataFixture(h, 1200, BOTH)
  const law = await insertGrant(h, { request: { ...BOTH.request, consumer_unit: 'LAW', fields: ['student_id', 'name', 'phone', 'college', 'year'] }, grant: { ...BOTH.grant, fields: ['student_id', 'name', 'phone', 'college', 'year'] } })
  const a = await exportAndDownload(h)
  const b = await exportAndDownload(h, {}, LAW_READER)
  t.equal(b.done.grant, law.grant.id)
  t.not(a.file.body, b.file.body, 'the two files differ')
  const marksOf = (records: string[][]) => new Map(records.slice(1).map((r) => [strip(r[2]!), r[2]!]))
  const ma = marksOf(a.records)
  const mb = marksOf(b.records)
  let same = 0
  let both = 0
  for (const [text, cell] of ma) if (mb.has(text)) { both++; if (mb.get(text) === cell) same++ }
  t.ok(both > 1000 && same < both / 10, `the same values carry other marks (${same} of ${both} alike)`)

  const fragmentOf = (records: string[][], seed: number) => {
    const rows = shuffled(records.slice(1), seed).slice(0, 150).map((r) => [r[2]!, r[1]!])
    return toCsv([['phone', 'name'], ...rows])
  }
  const fromA = await trace(h, fragmentOf(a.records, 11))
  t.equal(fromA.statusCode, 200, fromA.body)
  const answer = fromA.json()
  t.equal(answer.matches.length, 1, 'one export matches')
  t.match(answer.matches[0], {
    export: a.done.id,
    grant: a.done.grant,
    dataset: 'students',
    unit: 'MATH',
    sub: 'math-reader',
    client: null,
    evidence: { cellsChecked: 300, cellsMatched: 300 }
  }, 'the export, grant, unit and person it came from')
  t.ok(answer.matches[0].confidence > 0.999999, `with high confidence (${answer.matches[0].confidence})`)
  t.match(answer, { rowsChecked: 150, rowsSkipped: 0, columns: ['phone', 'name'], candidatesChecked: 2, unverifiable: 0 })
  const event = await eventOf(h, fromA.headers['x-audit-event'])
  t.match(event, { action: 'query', operation: 'watermarks.trace', actor_sub: 'office-wang', object_id: a.done.id, grant_id: a.done.grant })
  t.match(event.details, { rows: 150, columns: ['phone', 'name'], candidates: 2, matches: [{ export: a.done.id, unit: 'MATH', sub: 'math-reader' }] })

  const fromB = await h.as('auditor', { method: 'POST', url: '/api/v1/watermarks/trace', payload: { csv: fragmentOf(b.records, 5) } }, { unit: 'AUDIT', sub: 'auditor-li' })
  t.equal(fromB.statusCode, 200, 'auditors trace too, and JSON bodies work')
  t.same(fromB.json().matches.map((m: Row) => m.export), [b.done.id], 'the other fragment traces to the other export only')
  t.match(fromB.json().matches[0], { unit: 'LAW', sub: 'law-reader', grant: law.grant.id })
})

t.test('a fragment from elsewhere traces to nothing; one stripped of its marks is traced by its decoys', async (t) => {
  const h = await build(t)
  await dataFixture(h, 1200, BOTH)
  const a = await exportAndDownload(h)

  // the same masked values, read through the API: never exported, so no marks and no decoys
  const api = await readAll(h, '')
  const unexported = toCsv([['name', 'phone', 'college'], ...shuffled(api, 3).slice(0, 200).map((r) => [canon(r.name), canon(r.phone), canon(r.college)])])
  const none = await trace(h, unexported)
  t.equal(none.statusCode, 200)
  t.same(none.json().matches, [], 'no confident match')
  t.equal(none.json().candidatesChecked, 1)
  const raw = toCsv([['student_id', 'name'], ...Array.from({ length: 120 }, (_, i) => [String(studentRow(i + 1).student_id), String(studentRow(i + 1).name)])])
  t.same((await trace(h, raw)).json().matches, [], 'the raw source is not an export')

  // every mark stripped: the decoys among the rows still name the export
  const stripped = toCsv(a.records.map((r) => r.map(strip)))
  const byDecoys = await trace(h, stripped)
  t.equal(byDecoys.statusCode, 200)
  t.equal(byDecoys.json().matches.length, 1)
  t.match(byDecoys.json().matches[0], { export: a.done.id, evidence: { cellsChecked: 0, decoysFound: 3 } })
  t.ok(byDecoys.json().matches[0].confidence >= 0.999999, `confidently (${byDecoys.json().matches[0].confidence})`)
})

t.test('keyed pseudonyms differ per grant: two third-party exports of the same rows share no identifier', async (t) => {
  const h = await build(t)
  const third = { request: { ...BOTH.request, third_party: true, third_party_name: 'Analytics Ltd' }, grant: { ...BOTH.grant, third_party: true } }
  await dataFixture(h, 300, third)
  await insertGrant(h, { request: { ...third.request, consumer_unit: 'LAW', fields: ['student_id', 'name', 'phone', 'college', 'year'] }, grant: { ...third.grant, fields: ['student_id', 'name', 'phone', 'college', 'year'] } })
  const a = await exportAndDownload(h, { fields: ['student_id', 'college', 'year'] })
  const b = await exportAndDownload(h, { fields: ['student_id', 'college', 'year'] }, LAW_READER)
  const ids = (records: string[][]) => new Set(records.slice(1).map((r) => r[0]!))
  const ia = ids(a.records)
  t.ok([...ia].every((id) => /^[0-9a-f]{32}$/.test(id)), 'identifiers are pseudonyms')
  t.equal([...ids(b.records)].filter((id) => ia.has(id)).length, 0, 'none is shared between the two grants')
  t.notOk(a.file.body.includes('2026000001'))
  const whole = await trace(h, a.file.body)
  t.same(whole.json().matches.map((m: Row) => m.export), [a.done.id], 'a file with no text column is traced by its decoys')
})

t.test('bad input: fields and filters outside the grant, unknown operators, api-only and unusable grants, other units\' grants', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 20, BOTH)
  const cases: [object, number, string, RegExp | string][] = [
    [{ fields: ['name', 'id_number'] }, 403, 'DATA_FIELDS_NOT_GRANTED', /within your grant: id_number$/],
    [{ where: { email: 'a' } }, 403, 'DATA_FIELDS_NOT_GRANTED', /filters on fields not within your grant: email$/],
    [{ where: { phone: { gt: 1 } } }, 400, 'VALIDATION_FAILED', 'where.phone.gt'],
    [{ where: { year: 'abc' } }, 400, 'VALIDATION_FAILED', 'where.year'],
    [{ fields: [] }, 400, 'VALIDATION_FAILED', 'fields'],
    [{ unknown: 1 }, 400, 'VALIDATION_FAILED', ''],
    [{ grant: 'not-a-uuid' }, 400, 'VALIDATION_FAILED', 'grant']
  ]
  for (const [payload, status, code, detail] of cases) {
    const res = await createExport(h, payload)
    t.equal(res.statusCode, status, JSON.stringify(payload))
    t.equal(res.json().code, code)
    if (detail instanceof RegExp) t.match(res.json().detail, detail)
    else if (detail) t.ok(res.json().errors.some((e: { field: string }) => e.field === detail || e.field === `/${detail}` || e.field.startsWith(detail)), `${JSON.stringify(payload)} names ${detail}: ${res.body}`)
    t.ok(res.headers['x-audit-event'], 'the refusal is audited')
  }
  const refused = await eventOf(h, (await createExport(h, { fields: ['id_number'] })).headers['x-audit-event'])
  t.match(refused, { outcome: 'denied', operation: 'data.export.create', dataset_code: 'students', actor_sub: 'math-reader' })

  const apiOnly = await insertGrant(h, { request: { consumer_unit: 'BIO' }, grant: {} })
  const res = await createExport(h, {}, { unit: 'BIO', sub: 'bio-reader' })
  t.equal(res.statusCode, 403)
  t.match(res.json(), { code: 'AUTHZ_GRANT_NOT_USABLE', detail: `grant ${apiOnly.grant.id} does not allow access mode export` }, 'an api-only grant does not export')
  t.equal((await createExport(h, { grant: grant.id }, LAW_READER)).statusCode, 404, 'another unit\'s grant is 404')
  t.match((await createExport(h, {}, LAW_READER)).json(), { code: 'AUTHZ_NO_GRANT' }, 'no grant, no export')
  t.equal((await createExport(h, {}, MATH_READER, 'consumer', 'nothing_here')).statusCode, 404, 'no such dataset')

  const db = h.database.db
  await db.updateTable('grants').set({ status: 'suspended', status_reason: 'consent withdrawn' }).where('id', '=', grant.id).execute()
  await dataPathRefresh(h)
  t.match((await createExport(h)).json(), { code: 'AUTHZ_GRANT_NOT_USABLE', detail: /suspended/ })
  await db.updateTable('grants').set({ status: 'active', valid_until: '2020-01-01' }).where('id', '=', grant.id).execute()
  await dataPathRefresh(h)
  t.match((await createExport(h)).json(), { code: 'AUTHZ_GRANT_NOT_USABLE', detail: /expired/ })
  t.equal((await db.selectFrom('exports').select('id').execute()).length, 0, 'nothing was started')
})

t.test('who may export and trace: consumers and stewards export, the office and auditors trace, everyone else is refused', async (t) => {
  const h = await build(t)
  await dataFixture(h, 150, BOTH)
  const a = await exportAndDownload(h)
  for (const role of ['auditor', 'system_admin', 'security_admin', 'supervisor', 'leadership'] as const) {
    t.equal((await createExport(h, {}, MATH_READER, role)).statusCode, 403, `${role} does not export`)
    t.equal((await h.as(role, { method: 'GET', url: `/api/v1/exports/${a.done.id}/file` }, MATH_READER)).statusCode, 403, `${role} does not download`)
  }
  const steward = await createExport(h, {}, { unit: 'MATH', sub: 'math-steward' }, 'steward')
  t.equal(steward.statusCode, 202, 'a steward holding the grant exports')
  await settled(h, steward.json().id)
  for (const role of ['consumer', 'steward', 'system_admin', 'supervisor', 'leadership'] as const) {
    t.equal((await trace(h, a.file.body, role)).statusCode, 403, `${role} does not trace`)
  }
  t.equal((await h.app.inject({ method: 'POST', url: '/api/v1/watermarks/trace', payload: a.file.body, headers: { 'content-type': 'text/csv' } })).statusCode, 401)
})

t.test('other units see none of an export: 404 for the export, its file and in lists', async (t) => {
  const h = await build(t)
  await dataFixture(h, 150, BOTH)
  const a = await exportAndDownload(h)
  for (const url of [`/api/v1/exports/${a.done.id}`, `/api/v1/exports/${a.done.id}/file`]) {
    const res = await h.as('consumer', { method: 'GET', url }, LAW_READER)
    t.equal(res.statusCode, 404, url)
    t.equal(res.json().code, 'EXPORT_NOT_FOUND')
  }
  t.same((await h.as('consumer', { method: 'GET', url: '/api/v1/exports' }, LAW_READER)).json(), { data: [], nextCursor: null })
  t.equal((await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${randomUUID()}` }, MATH_READER)).statusCode, 404)
  t.equal((await h.as('consumer', { method: 'GET', url: '/api/v1/exports/not-a-uuid' }, MATH_READER)).statusCode, 400)
  t.equal((await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${a.done.id}` }, { unit: 'MATH', sub: 'math-other' })).statusCode, 200, 'the unit\'s others see a unit grant\'s export')

  // a grant to one person: only that person sees its exports
  const carol = await insertGrant(h, { request: { ...BOTH.request, consumer_unit: 'LAW', subject: 'law-carol' }, grant: { ...BOTH.grant, subject: 'law-carol' } })
  const hers = await exportAndDownload(h, {}, { unit: 'LAW', sub: 'law-carol' })
  t.equal(hers.done.grant, carol.grant.id)
  t.equal((await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${hers.done.id}` }, LAW_READER)).statusCode, 404, 'not her colleagues')

  // paging the list
  await exportAndDownload(h, { fields: ['college'] })
  const first = (await h.as('consumer', { method: 'GET', url: '/api/v1/exports?limit=1' }, MATH_READER)).json()
  t.equal(first.data.length, 1)
  t.same(first.data[0].fields, ['college'], 'newest first')
  const second = (await h.as('consumer', { method: 'GET', url: `/api/v1/exports?limit=1&cursor=${first.nextCursor}` }, MATH_READER)).json()
  t.match(second, { data: [{ id: a.done.id }], nextCursor: null })
  t.equal((await h.as('consumer', { method: 'GET', url: '/api/v1/exports?status=failed' }, MATH_READER)).json().data.length, 0)
})

t.test('a revoked grant makes its finished export undownloadable', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 150, BOTH)
  const created = await createExport(h)
  const done = await settled(h, created.json().id)
  const revoked = await h.as('security_admin', { method: 'POST', url: `/api/v1/grants/${grant.id}/revoke`, payload: { reason: 'purpose fulfilled' } }, OFFICE)
  t.equal(revoked.statusCode, 200)
  const file = await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${done.id}/file` }, MATH_READER)
  t.equal(file.statusCode, 403)
  t.match(file.json(), { code: 'AUTHZ_GRANT_NOT_USABLE', detail: /revoked/ })
  t.notOk(file.body.includes('138'), 'no data')
  t.match(await eventOf(h, file.headers['x-audit-event']), { outcome: 'denied', operation: 'data.export.download', action: 'denied' }, 'the refusal is audited')
  t.equal((await createExport(h)).statusCode, 403, 'and no new export starts')
})

t.test('the daily row quota is charged when an export is asked for: not enough left is 429 and nothing starts', async (t) => {
  const h = await build(t)
  await dataFixture(h, 150, { request: { ...BOTH.request, daily_row_quota: 200 }, grant: { ...BOTH.grant, daily_row_quota: 200 } })
  const first = await exportAndDownload(h)
  t.equal(first.done.rowsTotal, 150)
  const second = await createExport(h)
  t.equal(second.statusCode, 429)
  t.match(second.json(), { code: 'DATA_QUOTA_EXCEEDED', detail: /150 rows/ })
  t.ok(second.headers['x-audit-event'])
  t.equal((await h.database.db.selectFrom('exports').select('id').execute()).length, 1, 'nothing was started')
  const small = await createExport(h, { where: { college: 'CS' } })
  t.equal(small.statusCode, 202, 'what fits in the rest of the quota exports')
  t.equal((await settled(h, small.json().id)).rowsTotal, 50)
})

t.test('limits: the largest export, and exports queued or running at once per unit', async (t) => {
  const h = await build(t, { env: { EXPORT_MAX_ROWS: '100', EXPORT_CONCURRENCY: '1' } })
  const { grant } = await dataFixture(h, 150, BOTH)
  const big = await createExport(h)
  t.equal(big.statusCode, 400)
  t.match(big.json(), { code: 'VALIDATION_FAILED', errors: [{ field: 'where' }], detail: /150 rows; at most 100/ })
  // another process's job of the unit, alive
  await insertExportRow(h, grant.id, { status: 'running' })
  const busy = await createExport(h, { where: { college: 'CS' } })
  t.equal(busy.statusCode, 429)
  t.equal(busy.json().code, 'EXPORT_BUSY')
  t.equal((await createExport(h, { where: { college: 'CS' } }, MATH_READER)).statusCode, 429)
})

t.test('no data without audit: a log that cannot be written stops exports and downloads with 503', async (t) => {
  const h = await build(t)
  await dataFixture(h, 150, BOTH)
  const a = await exportAndDownload(h)
  const log = auditLogOf(h.app.db)!
  const appendFor = log.appendFor
  log.appendFor = async () => { throw new Error('the audit table is gone') }
  t.teardown(() => { log.appendFor = appendFor })

  const file = await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${a.done.id}/file` }, MATH_READER)
  t.equal(file.statusCode, 503)
  t.match(file.json(), { code: 'DATA_AUDIT_UNAVAILABLE' })
  t.notOk(file.body.includes('138') || file.body.includes('student_id'), 'no data in the answer')

  const created = await createExport(h)
  t.equal(created.statusCode, 503)
  const latest = await h.database.db.selectFrom('exports').selectAll().orderBy('seq', 'desc').executeTakeFirstOrThrow()
  t.match(latest, { status: 'failed', error: /audit log/ }, 'the export is not started')

  t.equal((await trace(h, a.file.body)).statusCode, 503, 'nor is a trace answered')
  log.appendFor = appendFor
  t.equal((await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${a.done.id}/file` }, MATH_READER)).statusCode, 200, 'back once the log is')
})

t.test('a job left running by a process that died is marked failed at start-up, and gives its quota back', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 20, BOTH)
  const orphan = await insertExportRow(h, grant.id, { status: 'running', heartbeat_at: new Date(Date.now() - 3_600_000) })
  writeFileSync(join(exportsOf(h.app.db)!.dir, `${orphan}.csv.sealed.part`), 'half a file')
  // what its POST charged to the grant's quota
  const quota = dataPathOf(h.database.db)!.quota
  t.equal(await quota.reserve(grant.id, campusToday(), 10_000, 20), 20)
  await quota.flush()
  // the next process over the same database
  const next = await buildApp({ config: h.config, database: h.database, mode: 'all', keys: { signing: h.key, verification: h.key }, logger: false, closeDatabase: false })
  t.teardown(() => next.close())
  await next.ready()
  await dataPathOf(h.database.db)!.quota.flush()
  const usage = await h.database.db.selectFrom('grant_usage').select('rows').where('grant_id', '=', grant.id).executeTakeFirstOrThrow()
  t.equal(Number(usage.rows), 0, 'the rows it was charged are given back')
  const row = await h.database.db.selectFrom('exports').selectAll().where('id', '=', orphan).executeTakeFirstOrThrow()
  t.match(row, { status: 'failed', error: /interrupted/ })
  t.ok(row.finished_at)
  const seen = await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${orphan}` }, MATH_READER)
  t.match(seen.json(), { status: 'failed', error: /interrupted/, file: null }, 'it no longer looks alive')
  t.equal((await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${orphan}/file` }, MATH_READER)).statusCode, 409, 'and has no file')
  await exportsOf(next.db)!.runner.sweep()
  t.notOk(readdirSync(exportsOf(h.app.db)!.dir).includes(`${orphan}.csv.sealed.part`), 'its partial file is deleted')
})

t.test('finished exports expire: the file is deleted, the download is 410, the trace still works', async (t) => {
  const h = await build(t)
  await dataFixture(h, 150, BOTH)
  const a = await exportAndDownload(h)
  await h.database.db.updateTable('exports').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', a.done.id).execute()
  const gone = await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${a.done.id}/file` }, MATH_READER)
  t.equal(gone.statusCode, 410, 'past its time, even before the sweep')
  await exportsOf(h.app.db)!.runner.sweep()
  t.match((await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${a.done.id}` }, MATH_READER)).json(), { status: 'expired', file: null })
  t.same(readdirSync(exportsOf(h.app.db)!.dir), [], 'the file is deleted')
  t.equal((await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${a.done.id}/file` }, MATH_READER)).json().code, 'EXPORT_GONE')
  const traced = await trace(h, a.file.body)
  t.same(traced.json().matches.map((m: Row) => m.export), [a.done.id], 'an expired export is still traced')
})

t.test('an export file changed on disk is not given out as it is', async (t) => {
  const h = await build(t)
  await dataFixture(h, 150, BOTH)
  const a = await exportAndDownload(h)
  const { dir } = exportsOf(h.app.db)!
  const path = join(dir, `${a.done.id}.csv.sealed`)
  const bytes = readFileSync(path)
  bytes[100] = bytes[100]! ^ 1
  writeFileSync(path, bytes)
  // the chunk that was changed does not open: the download breaks off there, short of its Content-Length
  const res = await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${a.done.id}/file` }, MATH_READER).catch((err: unknown) => err)
  t.match(res, { code: 'LIGHT_ECONNRESET' }, 'the download breaks off')
  // cut short before its first chunk: nothing is sent, the answer is a 500
  writeFileSync(path, readFileSync(path).subarray(0, 60))
  const cut = await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${a.done.id}/file` }, MATH_READER)
  t.equal(cut.statusCode, 500)
  t.notOk(cut.body.includes('student_id'), 'and no data')
})

t.test('trace input: a header line and at least 100 rows of CSV', async (t) => {
  const h = await build(t)
  const rows = (n: number) => toCsv([['name', 'phone'], ...Array.from({ length: n }, (_, i) => [`张${i}`, `138${i}`])])
  const few = await trace(h, rows(99))
  t.equal(few.statusCode, 400)
  t.match(few.json(), { code: 'VALIDATION_FAILED', errors: [{ field: 'body' }], detail: /holds 99 data rows; at least 100/ })
  t.match((await trace(h, 'name,phone\r\n"open quote,1\r\n')).json(), { errors: [{ field: 'body' }], detail: /not CSV/ })
  t.match((await trace(h, 'name,name\r\n' + 'a,b\r\n'.repeat(120))).json(), { errors: [{ field: 'body' }], detail: /twice/ })
  t.equal((await h.as('security_admin', { method: 'POST', url: '/api/v1/watermarks/trace', payload: { csv: '' } }, OFFICE)).statusCode, 400)
  t.equal((await h.as('security_admin', { method: 'POST', url: '/api/v1/watermarks/trace', payload: { file: 'x' } }, OFFICE)).statusCode, 400)
  const ok = await trace(h, rows(100))
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { matches: [], rowsChecked: 100, candidatesChecked: 0 }, 'nothing exported yet: nothing matches')
  const ragged = await trace(h, rows(100) + 'a,b,c\r\n')
  t.equal(ragged.json().rowsSkipped, 1, 'rows of another width are left out')
})

async function dataPathRefresh (h: TestApp) {
  await dataPathOf(h.app.db)!.cache.refresh()
}

/** An export row as another process would have left it. */
async function insertExportRow (h: TestApp, grantId: string, values: { status: 'running' | 'queued', heartbeat_at?: Date }) {
  const row = await h.database.db.insertInto('exports').values({
    grant_id: grantId,
    dataset_code: 'students',
    consumer_unit: 'MATH',
    sub: 'math-reader',
    client: null,
    fields: ['college'],
    filters: '{}',
    filter_summary: '{}',
    rows_total: 20,
    quota_day: campusToday(),
    file_suite: 'aes-256-gcm',
    watermark_key_ref: 'masking-secret:watermark:v1',
    watermark_check: '0000000000000000',
    ...values
  }).returning('id').executeTakeFirstOrThrow()
  return row.id
}

t.test('watermark building blocks', async (t) => {
  const { csvRecords } = await import('../../src/gateway/watermarks/csv.js')
  const { markOf, splitMark, MARK_ALPHABET } = await import('../../src/gateway/watermarks/marks.js')
  const { decoyCount, valueSpace, coincidence } = await import('../../src/gateway/watermarks/decoys.js')
  const { logBinomialTail, logCombined, confidenceOf } = await import('../../src/gateway/watermarks/score.js')

  t.same([...csvRecords('\uFEFFa,b,c\r\n"x,1","say ""hi""","two\r\nlines"\n\nlast,,\r\n')], [['a', 'b', 'c'], ['x,1', 'say "hi"', 'two\r\nlines'], ['last', '', '']], 'RFC 4180: quotes, doubled quotes, line breaks in cells, LF, BOM, blank lines')
  t.throws(() => [...csvRecords('a\r\n"open')], /record 2: a quoted field is not closed/)
  t.throws(() => [...csvRecords('"a"b\r\n')], /text follows a closing quote/)

  const key = Buffer.alloc(32, 7)
  const mark = markOf(key, '张*')
  t.equal(mark.length, 4)
  t.ok([...mark].every((c) => (MARK_ALPHABET as readonly string[]).includes(c)))
  t.equal(markOf(key, '张*'), mark, 'the same text, the same mark')
  t.not(markOf(Buffer.alloc(32, 8), '138****0001'), markOf(key, '138****0001'), 'another key, (most likely) another mark')
  t.same(splitMark(`张*${mark}`), { text: '张*', mark })
  t.equal(splitMark('张*'), null)
  t.equal(splitMark(mark), null, 'a cell of marks only is no marked text')

  t.same([decoyCount(99, 5000), decoyCount(100, 5000), decoyCount(1_000_000, 5000), decoyCount(1_000_000, 0)], [0, 3, 200, 0])
  const three = new Map([['CS', 400], ['MATH', 400], ['LAW', 400]])
  t.ok(Math.abs(valueSpace(three) - 3) < 0.1, 'three equally common values')
  t.ok(valueSpace(new Map(Array.from({ length: 2000 }, (_, i) => [String(i), 1]))) > 1_000_000, 'all distinct: a large space')
  t.equal(coincidence(0, 1000, 2_000_000), 1 / 2_000_000, 'a synthetic value: one over the space')
  t.equal(coincidence(400, 1200, 3), 1 / 3)

  t.equal(logBinomialTail(0, 10, 0.5), 0)
  t.ok(Math.abs(Math.exp(logBinomialTail(9, 10, 0.5)) - 11 / 1024) < 1e-12, 'P(X ≥ 9) of 10 fair coins')
  t.ok(logBinomialTail(150, 150, 1 / 256) < -800, 'far below what a double holds, in logs')
  t.ok(Math.abs(logCombined([Math.log(0.01)]) - Math.log(0.01)) < 1e-12, 'one p-value is itself')
  t.ok(Math.abs(Math.exp(logCombined([Math.log(0.1), Math.log(0.1)])) - 0.01 * (1 - Math.log(0.01))) < 1e-12, 'two: x(1 − ln x)')
  t.equal(confidenceOf(0, 5), 0)
  t.equal(confidenceOf(-Infinity, 5), 1)
  t.ok(Math.abs(confidenceOf(Math.log(0.0001), 10) - 0.999) < 1e-12, 'corrected for the candidates compared')
})
