// API3 (OWASP API Security Top 10, 2023), object-property-level authorization: a grant of some
// fields gives out those fields and nothing of the others, in every format and every path out (pages
// in JSON, CSV and NDJSON, the schema, export files, error messages, open downloads); masked fields
// never leave in clear; response schemas are allow-lists that hold no secret or key material.
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'
import { dataFixture, MATH_READER, studentRow } from '../helpers/data.js'

const GRANTED = ['student_id', 'name', 'phone', 'college', 'year']
const UNGRANTED = ['id_number', 'email', 'gpa', 'active', 'enrolled_on', 'updated']
const MASKED = ['student_id', 'name', 'phone']
const COUNT = 12
const students = Array.from({ length: COUNT }, (_v, i) => studentRow(i + 1))
/** What must never leave under this grant: ungranted values, and granted masked ones in clear. */
const SECRETS = students.flatMap((s) => [
  s.id_number as string, s.email as string, s.enrolled_on as string, s.updated as string,
  s.student_id as string, s.name as string, s.phone as string
])

const h = await build(t)
const { grant } = await dataFixture(h, COUNT, { request: { access_modes: ['api', 'export'] }, grant: { access_modes: ['api', 'export'] } })
const read = async (url: string, headers: Record<string, string> = {}) => await h.as('consumer', { method: 'GET', url, headers }, MATH_READER)

/** Everything a response carries, headers included. */
const whole = (res: LightMyRequestResponse) => `${JSON.stringify(res.headers)}\n${res.body}`

function leaks (t: Test, res: LightMyRequestResponse, what: string) {
  const text = whole(res)
  t.same(SECRETS.filter((s) => text.includes(s)), [], `${what}: no ungranted value, no masked value in clear`)
  t.same(UNGRANTED.filter((f) => new RegExp(`(^|[^a-z_])${f}([^a-z_]|$)`).test(text)), [], `${what}: no ungranted field name`)
}

t.test('a page gives the granted fields alone, in JSON, CSV and NDJSON', async (t) => {
  const json = await read('/api/v1/data/students/records?limit=100')
  t.equal(json.statusCode, 200, json.body)
  const page = json.json()
  t.equal(page.data.length, COUNT)
  for (const row of page.data) t.same(Object.keys(row).sort(), [...GRANTED].sort())
  t.same([...page.masked].sort(), [...MASKED].sort())
  leaks(t, json, 'JSON')

  const csv = await read('/api/v1/data/students/records?limit=100&format=csv')
  t.equal(csv.statusCode, 200, csv.body)
  t.match(csv.headers['content-type'], /^text\/csv/)
  const lines = csv.body.trimEnd().split('\r\n')
  t.same(lines[0]!.split(','), GRANTED, 'the CSV header: the granted fields in the dataset\'s order')
  t.equal(lines.length, COUNT + 1)
  leaks(t, csv, 'CSV')

  const nd = await read('/api/v1/data/students/records?limit=100', { accept: 'application/x-ndjson' })
  t.equal(nd.statusCode, 200, nd.body)
  const rows = nd.body.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  t.equal(rows.length, COUNT)
  for (const row of rows) t.same(Object.keys(row).sort(), [...GRANTED].sort())
  leaks(t, nd, 'NDJSON')

  // a small page: the next-page cursor is sealed, not the last record's key in base64
  const small = await read('/api/v1/data/students/records?limit=2')
  t.type(small.json().nextCursor, 'string')
  t.notOk(Buffer.from(small.json().nextCursor, 'base64url').toString('latin1').includes('2026000002'), 'the cursor does not carry the key')
  leaks(t, small, 'a page with a cursor')
})

t.test('asking for an ungranted field names the field and shows none of its values', async (t) => {
  for (const f of UNGRANTED) {
    const res = await read(`/api/v1/data/students/records?fields=student_id,${f}`)
    t.equal(res.statusCode, 403, res.body)
    t.equal(res.json().code, 'DATA_FIELDS_NOT_GRANTED')
    t.same(SECRETS.filter((s) => res.body.includes(s)), [], `fields=${f}: no value`)
  }
})

t.test('a filter on an ungranted field is no oracle: a true and a false guess answer alike', async (t) => {
  const first = students[0]!
  const probes: [string, string, string][] = [
    ['email', first.email as string, 'nobody@example.edu.cn'],
    ['id_number', first.id_number as string, '110105194912310038'],
    ['enrolled_on', first.enrolled_on as string, '1999-01-01']
  ]
  const strip = (res: LightMyRequestResponse, guess: string) => {
    const { requestId: _, ...rest } = res.json() as Record<string, unknown>
    return JSON.stringify(rest).replaceAll(encodeURIComponent(guess), '<guess>').replaceAll(guess, '<guess>')
  }
  for (const [field, right, wrong] of probes) {
    const hit = await read(`/api/v1/data/students/records?where[${field}]=${encodeURIComponent(right)}`)
    const miss = await read(`/api/v1/data/students/records?where[${field}]=${encodeURIComponent(wrong)}`)
    t.equal(hit.statusCode, 403, `where[${field}]: ${hit.body}`)
    t.equal(hit.statusCode, miss.statusCode)
    t.equal(strip(hit, right), strip(miss, wrong), `where[${field}]: the right guess is not told apart`)
    const exported = await h.as('consumer', { method: 'POST', url: '/api/v1/data/students/exports', payload: { where: { [field]: right } } }, MATH_READER)
    t.equal(exported.statusCode, 403, `export where.${field}: ${exported.body}`)
    t.same(SECRETS.filter((s) => s !== right && exported.body.includes(s)), [], `export where.${field}: no other value`)
  }
})

t.test('the schema describes the granted fields and nothing else', async (t) => {
  const res = await read('/api/v1/data/students/schema')
  t.equal(res.statusCode, 200, res.body)
  const names = (res.json().fields as { name: string }[]).map((f) => f.name)
  t.same([...names].sort(), [...GRANTED].sort())
  leaks(t, res, 'schema')
})

t.test('an export file holds the granted fields alone, masked', async (t) => {
  const refused = await h.as('consumer', { method: 'POST', url: '/api/v1/data/students/exports', payload: { fields: ['student_id', 'email'] } }, MATH_READER)
  t.equal(refused.statusCode, 403, refused.body)
  t.same(SECRETS.filter((s) => refused.body.includes(s)), [], 'the refusal shows no value')

  const created = await h.as('consumer', { method: 'POST', url: '/api/v1/data/students/exports', payload: {} }, MATH_READER)
  t.equal(created.statusCode, 202, created.body)
  const id = created.json().id as string
  let status = created.json()
  for (let i = 0; i < 600 && (status.status === 'queued' || status.status === 'running'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    status = (await read(`/api/v1/exports/${id}`)).json()
  }
  t.equal(status.status, 'done', JSON.stringify(status))
  t.same([...status.fields].sort(), [...GRANTED].sort())
  const file = await read(`/api/v1/exports/${id}/file`)
  t.equal(file.statusCode, 200, file.body)
  // each cell may carry an invisible watermark: strip it before reading the header
  const header = file.body.split('\r\n')[0]!.replace(/[\u200B-\u200D\u2060\uFEFF]/g, '')
  t.same(header.split(','), GRANTED)
  t.equal(file.body.trimEnd().split('\r\n').length, COUNT + 1)
  leaks(t, file, 'export file')
  leaks(t, await read(`/api/v1/exports/${id}`), 'export status')
  leaks(t, await read('/api/v1/exports'), 'export list')
})

t.test('the grant as the consumer sees it names only the granted fields', async (t) => {
  const res = await read(`/api/v1/grants/${grant.id}`)
  t.equal(res.statusCode, 200, res.body)
  t.same([...res.json().fields].sort(), [...GRANTED].sort())
  // (no field-name scan here: a grant's status is the word `active`)
  t.same(SECRETS.filter((s) => whole(res).includes(s)), [], 'grant: no value')
})

t.test('open downloads give what the public profile lets out, never raw personal information', async (t) => {
  await insertDataset(h, { code: 'notices', subject: 'notices', producer_unit: 'CS', open_attribute: 'unconditional' })
  for (const [role, claims] of [['steward', { unit: 'CS', sub: 'cs-steward' }], ['security_admin', { unit: 'OFFICE', sub: 'office' }], ['leadership', { unit: 'LEAD', sub: 'leader' }]] as const) {
    const res = await h.as(role, { method: 'POST', url: '/api/v1/datasets/notices/open-reviews', payload: { decision: 'approve' } }, claims)
    t.equal(res.statusCode, 201, res.body)
  }
  const ingest = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/notices/records', payload: students }, { unit: 'CS', sub: 'cs-steward' })
  t.equal(ingest.statusCode, 200, ingest.body)
  const withheld = ['name', 'phone', 'email']
  const raw = students.flatMap((s) => [s.student_id, s.name, s.phone, s.email, s.id_number] as string[])
  for (const format of ['json', 'csv']) {
    const res = await h.app.inject({ method: 'GET', url: `/open/v1/datasets/notices/records?limit=100&format=${format}` })
    t.equal(res.statusCode, 200, res.body)
    const names = format === 'json' ? Object.keys(res.json().data[0]) : res.body.split('\r\n')[0]!.split(',')
    t.same(withheld.filter((f) => names.includes(f)), [], `${format}: personal fields withheld`)
    t.same(raw.filter((v) => whole(res).includes(v)), [], `${format}: no raw personal value`)
  }
})

t.test('responses are allow-lists: no secret or key material in clients, units, grants', async (t) => {
  const created = await h.as('system_admin', { method: 'POST', url: '/api/v1/clients', payload: { name: 'registry', unit: 'MATH', roles: ['consumer'] } })
  t.equal(created.statusCode, 201, created.body)
  const { clientId, clientSecret } = created.json() as { clientId: string, clientSecret: string }
  t.type(clientSecret, 'string', 'the secret is shown once, at creation')
  const stored = await h.database.db.selectFrom('service_clients').select('secret_hash').where('client_id', '=', clientId).executeTakeFirstOrThrow()
  t.ok(stored.secret_hash.length > 20)
  t.notOk(created.body.includes(stored.secret_hash), 'the creation answer holds no hash')
  const responses = [
    await h.as('system_admin', { method: 'GET', url: `/api/v1/clients/${clientId}` }),
    await h.as('system_admin', { method: 'GET', url: '/api/v1/clients' }),
    await h.as('system_admin', { method: 'POST', url: `/api/v1/clients/${clientId}/disable` }),
    await h.as('consumer', { method: 'GET', url: '/api/v1/units/MATH' }, MATH_READER),
    await h.as('consumer', { method: 'GET', url: '/api/v1/units' }, MATH_READER),
    await read(`/api/v1/grants/${grant.id}`),
    await read('/api/v1/grants'),
    await read(`/api/v1/share-requests/${grant.share_request_id}`)
  ]
  for (const res of responses) {
    t.equal(res.statusCode, 200, res.body)
    t.notOk(res.body.includes(clientSecret), 'the secret never comes back')
    t.notOk(res.body.includes(stored.secret_hash), 'nor its hash')
    t.notMatch(res.body, /"[a-zA-Z_]*(password|secret|private|wrapped|signingKey|credential)[a-zA-Z_]*"\s*:/i, `${res.body.slice(0, 80)}: no secret-named property`)
  }
  // the contract itself: no response schema declares secret material but the creation's one-time secret
  const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> }
  const named: string[] = []
  const walk = (node: unknown, where: string) => {
    if (Array.isArray(node)) { node.forEach((n, i) => walk(n, `${where}[${i}]`)); return }
    if (node === null || typeof node !== 'object') return
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === 'properties' && v && typeof v === 'object') {
        for (const name of Object.keys(v)) if (/password|secret|private|wrapped|signingkey|credential/i.test(name)) named.push(`${where} ${name}`)
      }
      if (k !== 'examples' && k !== 'example') walk(v, where)
    }
  }
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) walk(op.responses, `${method.toUpperCase()} ${path}`)
  }
  t.same(named, ['POST /api/v1/clients clientSecret'])
})
