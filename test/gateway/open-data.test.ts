// The open data API: GET /open/v1/catalog (DCAT JSON-LD of what passed the three-level open review)
// and GET /open/v1/datasets/{code}/records (unconditional-open data for anyone, no token, masked for
// the public, every download and refusal audited before it leaves, rate-limited per address).
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { campusToday } from '../../src/platform/calendar.js'
import { loadMaskingKey } from '../../src/masking/keys.js'
import { compilePolicy, type PolicyProfiles } from '../../src/masking/policy.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { build, type BuildOptions, type TestApp, type TestContext } from '../helpers/build.js'
import { field, insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'
import { studentRow } from '../helpers/data.js'

type Row = Record<string, unknown>
interface Reviewer { role: Role, claims: { unit: string, sub: string } }
const office: Reviewer = { role: 'security_admin', claims: { unit: 'OFFICE', sub: 'office' } }
const leader: Reviewer = { role: 'leadership', claims: { unit: 'LEAD', sub: 'vice-president' } }
const stewardOf = (unit: string): Reviewer => ({ role: 'steward', claims: { unit, sub: `${unit.toLowerCase()}-steward` } })

/** The three levels of the open review, in order, through the API. */
async function openUp (h: TestApp, code: string, producer = 'CS') {
  for (const who of [stewardOf(producer), office, leader]) {
    const res = await h.as(who.role, { method: 'POST', url: `/api/v1/datasets/${code}/open-reviews`, payload: { decision: 'approve' } }, who.claims)
    if (res.statusCode !== 201) throw new Error(`opening ${code} as ${who.role}: ${res.statusCode} ${res.body}`)
  }
}

/** Records pushed by the producer's steward, as a business system would. */
async function ingest (h: TestApp, code: string, rows: Row[], unit = 'CS') {
  const res = await h.as('steward', { method: 'PUT', url: `/api/v1/datasets/${code}/records`, payload: rows }, { unit, sub: 'cs-steward' })
  if (res.statusCode !== 200 || res.json().rejected.length > 0) throw new Error(`ingesting into ${code}: ${res.statusCode} ${res.body}`)
}

async function setPolicy (h: TestApp, code: string, thirdParty: Record<string, Row>) {
  const res = await h.as('security_admin', { method: 'PUT', url: `/api/v1/masking/policies/${code}`, payload: { profiles: { third_party: thirdParty }, reason: 'open data' } })
  if (res.statusCode !== 200) throw new Error(`policy of ${code}: ${res.statusCode} ${res.body}`)
}

/**
 * students (CS): unconditional open, reviewed, 25 records; courses (CS): conditional open, reviewed;
 * rooms (MATH): unconditional but never reviewed; payroll (HR): not for opening; drafts (CS): a draft.
 */
async function setup (t: TestContext, options: BuildOptions = {}, count = 25) {
  const h = await build(t, options)
  await insertDataset(h, { code: 'students', open_attribute: 'unconditional', description: 'Enrolled students', update_frequency: 'weekly' })
  await insertDataset(h, { code: 'courses', open_attribute: 'conditional', category: 'teaching', subject: 'courses' })
  await insertDataset(h, { code: 'rooms', producer_unit: 'MATH', open_attribute: 'unconditional', subject: 'rooms' })
  await insertDataset(h, { code: 'payroll', producer_unit: 'HR', open_attribute: 'none', subject: 'payroll' })
  await insertDataset(h, { code: 'drafts', open_attribute: 'unconditional', status: 'draft', published_at: null, subject: 'drafts' })
  await openUp(h, 'students')
  await openUp(h, 'courses')
  const rows = Array.from({ length: count }, (_v, i) => studentRow(i + 1))
  if (rows.length > 0) await ingest(h, 'students', rows)
  await ingest(h, 'rooms', [studentRow(1)], 'MATH')
  await ingest(h, 'courses', [studentRow(1)])
  return h
}

const records = async (h: TestApp, code: string, query = '', extra: { headers?: Record<string, string>, remoteAddress?: string } = {}) =>
  await h.app.inject({ method: 'GET', url: `/open/v1/datasets/${code}/records${query}`, ...extra })

const catalog = async (h: TestApp, query = '', headers: Record<string, string> = {}) =>
  await h.app.inject({ method: 'GET', url: `/open/v1/catalog${query}`, headers })

async function eventOf (h: TestApp, seq: unknown) {
  await auditLogOf(h.app.db)!.flush()
  return await h.database.db.selectFrom('audit_events').selectAll().where('seq', '=', String(seq)).executeTakeFirstOrThrow()
}

async function auditCount (h: TestApp) {
  await auditLogOf(h.app.db)!.flush()
  const row = await h.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).where('operation', 'like', 'open.%').executeTakeFirstOrThrow()
  return Number(row.n)
}

t.test('the catalog lists what passed the open review, as DCAT JSON-LD, and nothing else', async (t) => {
  const h = await setup(t)
  const res = await catalog(h)
  t.equal(res.statusCode, 200, res.body)
  t.match(res.headers['content-type'], /^application\/ld\+json/)
  const doc = res.json()
  t.match(doc, {
    '@context': { dcat: 'http://www.w3.org/ns/dcat#', dct: 'http://purl.org/dc/terms/', foaf: 'http://xmlns.com/foaf/0.1/' },
    '@type': 'dcat:Catalog',
    '@id': 'http://localhost:80/open/v1/catalog',
    'dct:license': 'https://creativecommons.org/licenses/by/4.0/',
    nextCursor: null
  })
  t.same(doc['dcat:dataset'].map((d: Row) => d['dct:identifier']), ['courses', 'students'], 'reviewed open datasets only, by code')

  const students = doc['dcat:dataset'][1]
  t.match(students, {
    '@type': 'dcat:Dataset',
    'dct:title': 'Dataset students',
    'dct:description': 'Enrolled students',
    'dct:publisher': { '@type': 'foaf:Organization', 'dct:identifier': 'CS', 'foaf:name': 'Unit CS' },
    'dct:license': 'https://creativecommons.org/licenses/by/4.0/',
    'dct:accrualPeriodicity': 'http://publications.europa.eu/resource/authority/frequency/WEEKLY',
    'dct:accessRights': 'http://publications.europa.eu/resource/authority/access-right/PUBLIC',
    'dcat:theme': 'student',
    'datagate:openAttribute': 'unconditional'
  })
  t.ok(students['dcat:keyword'].includes('student'))
  const state = await h.database.db.selectFrom('open_review_rounds').select('closed_at').where('dataset_code', '=', 'students').executeTakeFirstOrThrow()
  t.equal(students['dct:issued'], state.closed_at!.toISOString(), 'issued when the leading group approved it')
  t.ok(Date.parse(students['dct:modified']) >= Date.parse(students['dct:issued']), 'modified by the last ingest')
  t.same(students['dcat:distribution'].map((d: Row) => [d['dct:format'], d['dcat:mediaType'], d['dcat:downloadURL']]), [
    ['CSV', 'https://www.iana.org/assignments/media-types/text/csv', 'http://localhost:80/open/v1/datasets/students/records?format=csv'],
    ['JSON', 'https://www.iana.org/assignments/media-types/application/json', 'http://localhost:80/open/v1/datasets/students/records?format=json']
  ])
  t.equal(students['dcat:distribution'][0]['dcat:accessURL'], 'http://localhost:80/open/v1/datasets/students/records')

  const courses = doc['dcat:dataset'][0]
  t.match(courses, { 'datagate:openAttribute': 'conditional', 'dct:accessRights': /RESTRICTED$/, 'dcat:theme': 'teaching', 'dct:accrualPeriodicity': /DAILY$/ })
  t.equal(courses['dcat:distribution'].length, 1, 'no download for conditional-open data')
  t.equal(courses['dcat:distribution'][0]['dcat:accessURL'], 'http://localhost:80/api/v1/open-requests', 'points to the open-request API')
  t.notOk(courses['dcat:distribution'][0]['dcat:downloadURL'])
  t.notOk(res.body.includes('2026000001'), 'no record in the catalog')

  const plain = await catalog(h, '', { accept: 'application/json' })
  t.equal(plain.statusCode, 200)
  t.match(plain.headers['content-type'], /^application\/json/, 'plain JSON when asked for')
  t.same(plain.json(), doc)

  // a dataset leaving the catalog leaves the list at once
  const retire = await h.as('security_admin', { method: 'PATCH', url: '/api/v1/datasets/courses', payload: { openAttribute: 'none', reason: 'withdrawn' } })
  t.equal(retire.statusCode, 200, retire.body)
  t.same((await catalog(h)).json()['dcat:dataset'].map((d: Row) => d['dct:identifier']), ['students'])
})

t.test('the catalog pages by cursor and takes its links from PUBLIC_BASE_URL when set', async (t) => {
  const h = await setup(t, { env: { PUBLIC_BASE_URL: 'https://data.example.edu.cn/', OPEN_DATA_LICENSE: 'https://opendatacommons.org/licenses/by/1-0/' } }, 0)
  const first = await catalog(h, '?limit=1')
  t.equal(first.statusCode, 200, first.body)
  t.same(first.json()['dcat:dataset'].map((d: Row) => d['dct:identifier']), ['courses'])
  t.type(first.json().nextCursor, 'string')
  t.equal(first.json()['@id'], 'https://data.example.edu.cn/open/v1/catalog')
  t.equal(first.json()['dcat:dataset'][0]['dct:license'], 'https://opendatacommons.org/licenses/by/1-0/')
  const second = await catalog(h, `?limit=1&cursor=${first.json().nextCursor}`)
  t.same(second.json()['dcat:dataset'].map((d: Row) => d['dct:identifier']), ['students'])
  t.equal(second.json().nextCursor, null)
  t.equal(second.json()['dcat:dataset'][0]['dcat:distribution'][0]['dcat:downloadURL'], 'https://data.example.edu.cn/open/v1/datasets/students/records?format=csv')

  for (const [query, name] of [['?limit=201', 'limit'], ['?limit=0', 'limit'], ['?cursor=bm90LWEtY3Vyc29y', 'cursor'], ['?cursor=a%20b', 'cursor'], ['?nope=1', 'nope']] as const) {
    const res = await catalog(h, query)
    t.equal(res.statusCode, 400, query)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.equal(res.json().errors[0].field, name, `${query} names ${name}`)
  }
})

t.test('unconditional-open records are served without a token, masked for the public, and audited first', async (t) => {
  const h = await setup(t)
  // extra data the catalog does not know (stored before a field was dropped, say) never leaves
  await h.database.db.updateTable('records').set({ data: JSON.stringify({ ...studentRow(1), secret_note: 'do not publish' }) })
    .where('dataset_code', '=', 'students').where('record_key', '=', '2026000001').execute()

  const res = await records(h, 'students', '?limit=5')
  t.equal(res.statusCode, 200, res.body)
  t.match(res.headers['content-type'], /^application\/json/)
  const page = res.json()
  t.equal(page.dataset, 'students')
  t.equal(page.data.length, 5)
  t.type(page.nextCursor, 'string')
  // the third-party defaults: identifiers pseudonymised, other personal information withheld
  t.same(Object.keys(page.data[0]).sort(), ['active', 'college', 'enrolled_on', 'gpa', 'id_number', 'student_id', 'updated', 'year'])
  t.match(page.data[0].student_id, /^[0-9a-f]{32}$/, 'the student number is a pseudonym')
  t.not(page.data[0].student_id, '2026000001')
  t.match(page.data[0].id_number, /^[0-9a-f]{32}$/)
  t.equal(page.data[0].college, 'MATH', 'plain fields as stored')
  t.equal(page.data[0].year, 2021)
  t.same([...page.masked].sort(), ['email', 'id_number', 'name', 'phone', 'student_id'])
  for (const raw of ['2026000001', '11010519491231002X', '13800000001', 's1@example.edu.cn', 'do not publish', 'secret_note', studentRow(1).name as string]) {
    t.notOk(res.body.includes(raw), `${raw} does not leave`)
  }

  const event = await eventOf(h, res.headers['x-audit-event'])
  t.match(event, {
    service: 'gateway',
    action: 'query',
    operation: 'open.records.read',
    outcome: 'success',
    actor_sub: 'anonymous',
    actor_unit: null,
    actor_roles: [],
    actor_client: null,
    actor_ip: '127.0.0.1',
    dataset_code: 'students',
    row_count: '5',
    request_id: res.headers['x-request-id'] ?? /.+/,
    details: { format: 'json', cursor: false, limit: 5, masked: page.masked }
  })
  t.same([...event.fields!].sort(), ['active', 'college', 'enrolled_on', 'gpa', 'id_number', 'student_id', 'updated', 'year'], 'the fields that left')

  // the office's third-party policy applies at once: phone masked, name pseudonymised
  await setPolicy(h, 'students', { phone: { strategy: 'mask' }, name: { strategy: 'hash', length: 16 } })
  const masked = (await records(h, 'students', '?limit=2')).json()
  t.match(masked.data[0].phone, /^138\*{4}\d{4}$/, 'the phone comes out masked')
  t.match(masked.data[0].name, /^[0-9a-f]{16}$/, 'the name is a pseudonym')
  t.not(masked.data[0].name, studentRow(1).name)
  t.notOk('email' in masked.data[0], 'still withheld')
  t.same([...masked.masked].sort(), ['email', 'id_number', 'name', 'phone', 'student_id'])

  // a field change takes effect too: a field marked for redaction in the catalog disappears
  const fields = STUDENT_FIELDS.map((f) => f.name === 'gpa' ? { ...f, masking: { strategy: 'redact' } } : f)
  await h.database.db.updateTable('datasets').set({ fields: JSON.stringify(fields) }).where('code', '=', 'students').execute()
  const after = (await records(h, 'students', '?limit=1')).json()
  t.notOk('gpa' in after.data[0], 'the catalog change applies on the next request')
  t.ok(after.masked.includes('gpa'))

  // a token is not needed, and one sent along changes nothing
  const withToken = await h.as('consumer', { method: 'GET', url: '/open/v1/datasets/students/records?limit=1' })
  t.equal(withToken.statusCode, 200)
  t.equal((await eventOf(h, withToken.headers['x-audit-event'])).actor_sub, 'anonymous')
})

t.test('CSV by format or Accept, with the cursor and masked fields in headers', async (t) => {
  const h = await setup(t)
  await setPolicy(h, 'students', { phone: { strategy: 'mask' } })
  for (const [query, headers] of [['?format=csv&limit=10', {}], ['?limit=10', { accept: 'text/csv' }]] as const) {
    const res = await records(h, 'students', query, { headers })
    t.equal(res.statusCode, 200, `${query} ${JSON.stringify(headers)}`)
    t.match(res.headers['content-type'], /^text\/csv/)
    t.match(res.headers['content-disposition'], /attachment; filename="students.csv"/)
    const lines = res.body.trimEnd().split('\r\n')
    t.equal(lines[0], 'student_id,id_number,phone,college,year,gpa,active,enrolled_on,updated', 'the header: the fields that leave, in the dataset\'s order')
    t.equal(lines.length, 11)
    t.match(lines[1], /^[0-9a-f]{32},[0-9a-f]{32},138\*{4}0001,MATH,2021,/)
    t.match(res.headers['x-masked-fields'], /phone/)
    t.type(res.headers['x-next-cursor'], 'string')
    t.match(res.headers.link, /^<\/open\/v1\/datasets\/students\/records\?.*cursor=[A-Za-z0-9_-]+>; rel="next"$/)
    const event = await eventOf(h, res.headers['x-audit-event'])
    t.match(event, { operation: 'open.records.read', row_count: '10', details: { format: 'csv' } })
  }
  // the JSON form when both are given: format wins
  const json = await records(h, 'students', '?format=json&limit=1', { headers: { accept: 'text/csv' } })
  t.match(json.headers['content-type'], /^application\/json/)
})

t.test('keyset pages to the end with sealed cursors; bad cursors and limits are 400s', async (t) => {
  const h = await setup(t)
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await records(h, 'students', `?limit=10${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(res.statusCode, 200, res.body)
    const page = res.json() as { data: Row[], nextCursor: string | null }
    seen.push(...page.data.map((r) => String(r.student_id)))
    if (page.nextCursor) {
      const opened = Buffer.from(page.nextCursor, 'base64url').toString('latin1')
      t.notOk(opened.includes('20260000'), 'the record key is not readable in the cursor')
    }
    const event = await eventOf(h, res.headers['x-audit-event'])
    t.equal(event.details.cursor, cursor !== null)
    cursor = page.nextCursor
    pages++
  } while (cursor !== null && pages < 10)
  t.equal(pages, 3)
  t.equal(seen.length, 25)
  t.equal(new Set(seen).size, 25, 'every record once')

  const first = (await records(h, 'students', '?limit=3')).json()
  const again = (await records(h, 'students', '?limit=3')).json()
  t.not(first.nextCursor, again.nextCursor, 'cursors are sealed afresh (random IV)')
  const second = (await records(h, 'students', `?limit=3&cursor=${again.nextCursor}`)).json()
  t.same((await records(h, 'students', `?limit=3&cursor=${first.nextCursor}`)).json().data, second.data, 'both lead to the same page')

  const before = await auditCount(h)
  const bytes = Buffer.from(first.nextCursor, 'base64url')
  bytes[14] = bytes[14]! ^ 1
  const tampered = bytes.toString('base64url')
  // a cursor of another dataset: rooms is not open, so seal one for students under another code's key
  const { sealOpenCursor } = await import('../../src/gateway/open/cursor.js')
  const foreign = sealOpenCursor(loadMaskingKey(h.config, { generate: false }), 'courses', '2026000003')
  for (const [query, name] of [
    [`?cursor=${tampered}`, 'cursor'],
    [`?cursor=${foreign}`, 'cursor'],
    ['?cursor=short', 'cursor'],
    ['?cursor=not%2Fbase64', 'cursor'],
    ['?limit=1001', 'limit'],
    ['?limit=0', 'limit'],
    ['?limit=ten', 'limit'],
    ['?format=xml', 'format'],
    ['?where[college]=CS', 'where[college]']
  ] as const) {
    const res = await records(h, 'students', query)
    t.equal(res.statusCode, 400, `${query}: ${res.body}`)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.equal(res.json().errors?.[0]?.field, name, `${query} names ${name}`)
    t.notOk(res.body.includes('"data"'), 'no data')
    const event = await eventOf(h, res.headers['x-audit-event'])
    t.match(event, { operation: 'open.records.read', action: 'query', outcome: 'denied', actor_sub: 'anonymous', row_count: '0', details: { status: 400 } })
  }
  t.equal(await auditCount(h), before + 9, 'every refusal recorded once')
  t.equal((await records(h, 'students', '?limit=1000')).json().data.length, 25, 'limit 1000 is allowed')
})

t.test('conditional-open is 403 pointing to open requests; anything not open is a 404; both audited', async (t) => {
  const h = await setup(t)
  const conditional = await records(h, 'courses')
  t.equal(conditional.statusCode, 403, conditional.body)
  t.match(conditional.json(), { code: 'OPEN_DATASET_CONDITIONAL', detail: /POST \/api\/v1\/open-requests/ })
  t.match(await eventOf(h, conditional.headers['x-audit-event']), {
    action: 'denied', outcome: 'denied', operation: 'open.records.read', dataset_code: 'courses', actor_sub: 'anonymous', actor_ip: '127.0.0.1', details: { status: 403, code: 'OPEN_DATASET_CONDITIONAL' }
  })

  const bodies = new Set<string>()
  for (const code of ['nothing', 'rooms', 'payroll', 'drafts']) {
    const res = await records(h, code, '?format=csv')
    t.equal(res.statusCode, 404, `${code}: ${res.body}`)
    t.match(res.json(), { code: 'OPEN_DATASET_NOT_FOUND', detail: `no open dataset ${code}` })
    bodies.add(res.json().detail.replace(code, '…'))
    t.match(await eventOf(h, res.headers['x-audit-event']), { action: 'query', outcome: 'denied', dataset_code: code, row_count: '0', details: { status: 404 } })
  }
  t.equal(bodies.size, 1, 'unknown, unreviewed, not-for-opening and draft datasets look the same')

  // an approval lapses when the open attribute is widened: conditional → unconditional needs a new review
  const widen = await h.as('security_admin', { method: 'PATCH', url: '/api/v1/datasets/courses', payload: { openAttribute: 'unconditional', reason: 'widen' } })
  t.equal(widen.statusCode, 200, widen.body)
  t.equal((await records(h, 'courses')).statusCode, 404, 'widened without review: not open')
  // narrowing keeps the dataset open, conditionally
  const narrow = await h.as('security_admin', { method: 'PATCH', url: '/api/v1/datasets/students', payload: { openAttribute: 'conditional', reason: 'narrow' } })
  t.equal(narrow.statusCode, 200, narrow.body)
  t.equal((await records(h, 'students')).statusCode, 403, 'narrowed: conditional now')
})

t.test('no data without audit: a log that cannot be written is a 503 with no data', async (t) => {
  const h = await setup(t)
  const log = auditLogOf(h.app.db)!
  const append = log.append
  log.append = async () => { throw new Error('audit log down') }
  const res = await records(h, 'students', '?limit=5')
  const csv = await records(h, 'students', '?format=csv')
  log.append = append
  for (const r of [res, csv]) {
    t.equal(r.statusCode, 503, r.body)
    t.match(r.headers['content-type'], /application\/problem\+json/)
    t.equal(r.json().code, 'OPEN_AUDIT_UNAVAILABLE')
    t.equal(r.headers['retry-after'], '1')
    t.notOk(r.headers['x-audit-event'])
    t.notOk(r.body.includes('"data"'))
    t.notOk(/[0-9a-f]{32}/.test(r.body), 'not a single pseudonym')
  }
  t.equal(await auditCount(h), 0, 'nothing recorded, nothing sent')
  const back = await records(h, 'students', '?limit=5')
  t.equal(back.statusCode, 200, 'served again once the log is back')
  t.equal(await auditCount(h), 1)
})

t.test('the open API has its own per-address rate limit, shared by its routes, and 429s are audited', async (t) => {
  const h = await setup(t, { env: { OPEN_RATE_LIMIT_MAX: '3', OPEN_RATE_LIMIT_WINDOW_MS: '600000' } }, 3)
  const from = (ip: string) => ({ remoteAddress: ip })
  t.equal((await records(h, 'students', '', from('203.0.113.7'))).statusCode, 200)
  t.equal((await h.app.inject({ method: 'GET', url: '/open/v1/catalog', ...from('203.0.113.7') })).statusCode, 200)
  const third = await records(h, 'students', '', from('203.0.113.7'))
  t.equal(third.statusCode, 200)
  t.equal(third.headers['x-ratelimit-limit'], '3')
  t.equal(third.headers['x-ratelimit-remaining'], '0')

  const limited = await records(h, 'students', '', from('203.0.113.7'))
  t.equal(limited.statusCode, 429, limited.body)
  t.match(limited.headers['content-type'], /application\/problem\+json/)
  t.match(limited.json(), { status: 429, code: 'RATE_LIMITED', detail: /at most 3 requests/ })
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.notOk(limited.body.includes('"data"'))
  t.match(await eventOf(h, limited.headers['x-audit-event']), { operation: 'open.records.read', outcome: 'denied', actor_ip: '203.0.113.7', details: { status: 429, code: 'RATE_LIMITED' } })
  t.equal((await h.app.inject({ method: 'GET', url: '/open/v1/catalog', ...from('203.0.113.7') })).statusCode, 429, 'the catalog shares the budget')

  t.equal((await records(h, 'students', '', from('198.51.100.20'))).statusCode, 200, 'another address has its own budget')
  // the authenticated API keeps its own, larger limit, and its refusals are not open-data events
  t.equal((await h.as('security_admin', { method: 'GET', url: '/api/v1/datasets/students' })).statusCode, 200)
  const opened = await auditCount(h)
  t.equal((await h.app.inject({ method: 'GET', url: '/api/v1/datasets/students', remoteAddress: '203.0.113.7' })).statusCode, 401)
  t.equal(await auditCount(h), opened, 'the open API\'s hooks stay within /open/v1')
})

t.test('encrypted fields are opened before masking: the public gets the masked value, never the mark', async (t) => {
  const h = await build(t)
  const fields = [...STUDENT_FIELDS, field('ethnicity', 'string', { piType: 'ethnicity', sensitivity: 4 })]
  await insertDataset(h, { code: 'students', open_attribute: 'unconditional', fields })
  await openUp(h, 'students')
  await ingest(h, 'students', [{ ...studentRow(1), ethnicity: 'Han' }, { ...studentRow(2), ethnicity: 'Hui' }])
  const stored = await h.database.db.selectFrom('records').select('data').where('dataset_code', '=', 'students').orderBy('record_key').execute()
  t.equal(stored[0]!.data.ethnicity, 'enc:v1', 'stored encrypted')

  const before = (await records(h, 'students')).json()
  t.notOk('ethnicity' in before.data[0], 'sensitive personal information is withheld by default')

  const profiles: PolicyProfiles = { third_party: { ethnicity: { strategy: 'hash', length: 20 } } }
  await setPolicy(h, 'students', profiles.third_party!)
  const res = await records(h, 'students')
  t.equal(res.statusCode, 200)
  const expected = compilePolicy(fields, profiles, 'third_party', {
    key: loadMaskingKey(h.config, { generate: false }), scope: 'open', today: new Date(`${campusToday()}T00:00:00+08:00`)
  })
  t.equal(res.json().data[0].ethnicity, expected({ ethnicity: 'Han' }).ethnicity, 'the hash of the real value')
  t.not(res.json().data[0].ethnicity, expected({ ethnicity: 'enc:v1' }).ethnicity, 'not the hash of the mark')
  t.not(res.json().data[0].ethnicity, res.json().data[1].ethnicity)
})

t.test('the gateway process hosts the open API too, over the same audit log', async (t) => {
  const h = await build(t, {
    mode: 'gateway',
    env: {
      CATALOG_URL: 'http://127.0.0.1:9',
      AUTHORIZATION_URL: 'http://127.0.0.1:9',
      MASKING_URL: 'http://127.0.0.1:9',
      AUDIT_URL: 'http://127.0.0.1:9',
      DATAGATE_MASTER_KEY: randomBytes(32).toString('hex')
    }
  })
  const res = await catalog(h)
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json()['dcat:dataset'], [])
  const missing = await records(h, 'students')
  t.equal(missing.statusCode, 404)
  t.match(await eventOf(h, missing.headers['x-audit-event']), { operation: 'open.records.read', details: { status: 404 } })
})
