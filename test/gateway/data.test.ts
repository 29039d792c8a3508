// The data-access read path: GET /api/v1/data/{dataset}/records and …/schema. Grants resolve from
// the token, fields and filters stay within the grant, masks apply per field, every read and every
// refusal is audited before the answer leaves, quotas hold, and revocation is immediate.
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { dataPathOf } from '../../src/gateway/data/plugin.js'
import { build, type TestApp } from '../helpers/build.js'
import { dataFixture, MATH_READER } from '../helpers/data.js'
import { insertGrant } from '../helpers/grants.js'

type Row = Record<string, unknown>
const read = async (h: TestApp, query = '', claims = MATH_READER, roles: Parameters<TestApp['as']>[0] = 'consumer', headers: Record<string, string> = {}) =>
  await h.as(roles, { method: 'GET', url: `/api/v1/data/students/records${query}`, headers }, claims)

async function eventOf (h: TestApp, seq: unknown) {
  await auditLogOf(h.app.db)!.flush()
  return await h.database.db.selectFrom('audit_events').selectAll().where('seq', '=', String(seq)).executeTakeFirstOrThrow()
}

async function allPages (h: TestApp, query: string) {
  const rows: Row[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await read(h, `${query}${cursor ? `&cursor=${cursor}` : ''}`)
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
    const page = res.json() as { data: Row[], nextCursor: string | null }
    rows.push(...page.data)
    cursor = page.nextCursor
    pages++
  } while (cursor !== null && pages < 100)
  return { rows, pages }
}

t.test('a consumer reads granted fields, masked, with the read audited before it is sent', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 30)
  const res = await read(h, '?limit=5')
  t.equal(res.statusCode, 200, res.body)
  const page = res.json()
  t.equal(page.grant, grant.id, 'says which grant applied')
  t.equal(page.data.length, 5)
  t.same(Object.keys(page.data[0]).sort(), ['college', 'name', 'phone', 'student_id', 'year'], 'the granted fields, nothing else')
  t.match(page.data[0].phone, /^138\*{4}\d{4}$/, 'the phone is masked')
  t.not(page.data[0].name, 'x', 'the name is present')
  t.notOk(JSON.stringify(page).includes('11010519491231002X'), 'no ungranted field leaks')
  t.same(page.masked.sort(), ['name', 'phone', 'student_id'], 'names the masked fields')
  t.equal(page.data[0].college, 'MATH', 'unmasked fields as stored')
  t.equal(page.data[0].year, 2021)
  t.equal(res.headers['x-grant'], grant.id)

  const event = await eventOf(h, res.headers['x-audit-event'])
  t.match(event, {
    service: 'gateway',
    action: 'query',
    operation: 'data.records.read',
    outcome: 'success',
    actor_sub: 'math-reader',
    actor_unit: 'MATH',
    dataset_code: 'students',
    grant_id: grant.id
  }, 'the audit event: who, which dataset, grant, rows')
  t.same(event.fields, ['student_id', 'name', 'phone', 'college', 'year'])
  t.equal(Number(event.row_count), 5)
  t.match(event.details, { format: 'json', limit: 5, cursor: false })
})

t.test('keyset pagination walks every granted row once; cursors are sealed', async (t) => {
  const h = await build(t)
  await dataFixture(h, 30)
  const { rows, pages } = await allPages(h, '?limit=7&fields=college,year')
  t.equal(rows.length, 30)
  t.equal(pages, 5)
  const first = (await read(h, '?limit=7')).json()
  t.notOk(Buffer.from(first.nextCursor, 'base64url').toString('latin1').includes('2026000007'), 'the last key is not readable in the cursor')
  const second = (await read(h, `?limit=7&cursor=${first.nextCursor}`)).json()
  t.not(second.data[0].student_id, first.data[6].student_id, 'the next page starts after the last row')

  const bad = await read(h, '?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'VALIDATION_FAILED', errors: [{ field: 'cursor' }] }, 'a forged cursor is 400 naming cursor')
  const tampered = first.nextCursor.slice(0, -2) + (first.nextCursor.endsWith('AA') ? 'BB' : 'AA')
  t.equal((await read(h, `?cursor=${tampered}`)).statusCode, 400, 'a changed cursor is 400')
  t.equal((await read(h, '?cursor=not%20base64!')).statusCode, 400, 'a malformed cursor is 400')
})

t.test('fields and filters stay within the grant; nothing about other fields leaks', async (t) => {
  const h = await build(t)
  await dataFixture(h, 30)
  const some = await read(h, '?fields=year,college&limit=3')
  t.equal(some.statusCode, 200)
  t.same(Object.keys(some.json().data[0]), ['college', 'year'], 'the fields asked for, in the dataset\'s order')
  t.same(some.json().masked, [])

  for (const [query, named] of [['?fields=name,id_number', 'id_number'], ['?fields=no_such_field', 'no_such_field'], ['?where[email]=a', 'email'], ['?where[nope]=1', 'nope']] as const) {
    const res = await read(h, query)
    t.equal(res.statusCode, 403, query)
    t.match(res.json(), { code: 'DATA_FIELDS_NOT_GRANTED', detail: new RegExp(`within your grant: ${named}$`) }, `${query}: names the field and says only that it is not granted`)
  }
  const schema = await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/schema' }, MATH_READER)
  t.equal(schema.statusCode, 200)
  const body = schema.body
  for (const hidden of ['id_number', 'email', 'gpa', 'enrolled_on']) t.notOk(body.includes(hidden), `the schema says nothing of ${hidden}`)
  const fields = schema.json().fields as Row[]
  t.same(fields.map((f) => f.name), ['student_id', 'name', 'phone', 'college', 'year'])
  t.match(fields.find((f) => f.name === 'phone'), { masked: true, strategy: 'mask', filters: ['eq', 'in'] })
  t.match(fields.find((f) => f.name === 'year'), { masked: false, strategy: 'keep', filters: ['eq', 'in', 'ne', 'gt', 'gte', 'lt', 'lte'] })
  t.match(schema.json(), { dataset: 'students', profile: 'display', formats: ['json', 'csv', 'ndjson'], maxLimit: 1000, dailyRowQuota: 10000 })
  t.match(await eventOf(h, schema.headers['x-audit-event']), { operation: 'data.schema.read', actor_sub: 'math-reader', dataset_code: 'students' }, 'reading the schema is audited')
})

t.test('filters: equality, ranges and lists on granted fields; equality on masked fields matches the real value', async (t) => {
  const h = await build(t)
  await dataFixture(h, 30)
  const law = (await allPages(h, '?limit=100&where[college]=LAW')).rows
  t.equal(law.length, 10)
  t.ok(law.every((r) => r.college === 'LAW'))
  const range = (await read(h, '?limit=100&where[year][gte]=2023&where[college][in]=CS,MATH')).json().data as Row[]
  t.ok(range.length > 0 && range.every((r) => Number(r.year) >= 2023 && r.college !== 'LAW'), 'ranges and lists ANDed')
  const byPhone = await read(h, '?where[phone]=13800000007')
  t.equal(byPhone.statusCode, 200)
  t.equal(byPhone.json().data.length, 1, 'found by the real phone number')
  t.equal(byPhone.json().data[0].phone, '138****0007', 'and given out masked')
  t.equal((await read(h, '?where[phone]=138****0007')).json().data.length, 0, 'the masked form finds nothing')

  const ranged = await read(h, '?where[phone][gt]=1')
  t.equal(ranged.statusCode, 400)
  t.match(ranged.json(), { errors: [{ field: 'where.phone.gt' }] }, 'no ranges on a masked field')
  const typed = await read(h, '?where[year]=abc')
  t.equal(typed.statusCode, 400)
  t.match(typed.json(), { errors: [{ field: 'where.year' }] }, 'values must fit the field type')
  t.match((await read(h, '?where[year][like]=2')).json(), { errors: [{ field: 'where.year.like' }] }, 'unknown operators are 400')
  t.equal((await read(h, '?where=1')).statusCode, 400, 'a malformed filter is 400')
  const sqlish = await read(h, `?where[college]=${encodeURIComponent("CS' or '1'='1")}`)
  t.equal(sqlish.statusCode, 200)
  t.equal(sqlish.json().data.length, 0, 'SQL-looking values are data')
  const event = await eventOf(h, byPhone.headers['x-audit-event'])
  t.same(event.details.filters, { phone: 'eq' }, 'the audit event names the filter, not the value')
  t.notOk(JSON.stringify(event).includes('13800000007'), 'the looked-up value is not in the log')
})

t.test('the grant\'s row filter holds whatever the caller filters', async (t) => {
  const h = await build(t)
  await dataFixture(h, 30, { request: { row_filter: JSON.stringify({ college: 'CS' }) as never }, grant: { row_filter: JSON.stringify({ college: 'CS' }) } })
  const all = (await allPages(h, '?limit=4')).rows
  t.equal(all.length, 10)
  t.ok(all.every((r) => r.college === 'CS'))
  t.equal((await read(h, '?where[college]=LAW')).json().data.length, 0, 'filtering for other rows finds none')
})

t.test('formats: CSV and NDJSON by format or Accept, with paging in headers', async (t) => {
  const h = await build(t)
  await dataFixture(h, 30)
  const csv = await read(h, '?format=csv&limit=10&fields=student_id,college,year')
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  const lines = csv.body.trimEnd().split('\r\n')
  t.equal(lines[0], 'student_id,college,year')
  t.equal(lines.length, 11)
  t.ok(csv.headers['x-next-cursor'])
  t.match(csv.headers.link, /rel="next"/)
  t.equal(csv.headers['x-masked-fields'], 'student_id')
  t.ok(csv.headers['x-audit-event'])
  const nd = await read(h, '?limit=4', MATH_READER, 'consumer', { accept: 'application/x-ndjson' })
  t.match(nd.headers['content-type'], /ndjson/)
  const parsed = nd.body.trimEnd().split('\n').map((l) => JSON.parse(l) as Row)
  t.equal(parsed.length, 4)
  t.match(parsed[0]!.phone, /\*{4}/)
  const viaAccept = await read(h, '?limit=2', MATH_READER, 'consumer', { accept: 'text/csv' })
  t.match(viaAccept.headers['content-type'], /^text\/csv/)
  const event = await eventOf(h, csv.headers['x-audit-event'])
  t.match(event.details, { format: 'csv' })
  t.equal(Number(event.row_count), 10)
})

t.test('limits and bad input are 400 and audited', async (t) => {
  const h = await build(t)
  await dataFixture(h, 5)
  for (const q of ['?limit=1001', '?limit=0', '?limit=abc', '?format=xml', '?unknown=1']) {
    const res = await read(h, q)
    t.equal(res.statusCode, 400, q)
    t.ok(res.headers['x-audit-event'], `${q}: its refusal is audited`)
  }
  const res = await read(h, '?limit=1001')
  const event = await eventOf(h, res.headers['x-audit-event'])
  t.match(event, { outcome: 'denied', dataset_code: 'students', })
  t.equal(Number(event.row_count), 0)
  t.match(event.details, { status: 400 })
})

t.test('who may read: roles, units, grants', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 5)
  for (const role of ['auditor', 'system_admin', 'security_admin', 'supervisor', 'leadership'] as const) {
    const res = await read(h, '', MATH_READER, role)
    t.equal(res.statusCode, 403, `${role} reads no data`)
  }
  t.equal((await h.app.inject({ method: 'GET', url: '/api/v1/data/students/records' })).statusCode, 401, 'no token, no data')
  const law = await read(h, '', { unit: 'LAW', sub: 'law-bob' })
  t.equal(law.statusCode, 403)
  t.match(law.json(), { code: 'AUTHZ_NO_GRANT' }, 'another unit without a grant is refused')
  const named = await read(h, `?grant=${grant.id}`, { unit: 'LAW', sub: 'law-bob' })
  t.equal(named.statusCode, 404, 'another unit\'s grant is 404')
  t.equal((await h.as('consumer', { method: 'GET', url: '/api/v1/data/nothing_here/records' }, MATH_READER)).statusCode, 404, 'no such dataset')
  const event = await eventOf(h, law.headers['x-audit-event'])
  t.match(event, { action: 'denied', outcome: 'denied', actor_unit: 'LAW', dataset_code: 'students' }, 'refusals are audited with the dataset')
  const subjectGrant = await insertGrant(h, { request: { consumer_unit: 'LAW', subject: 'law-carol' }, grant: { subject: 'law-carol' } })
  t.equal((await read(h, '', { unit: 'LAW', sub: 'law-bob' })).statusCode, 403, 'a grant to one person is not the unit\'s')
  const carol = await read(h, '', { unit: 'LAW', sub: 'law-carol' })
  t.equal(carol.statusCode, 200)
  t.equal(carol.json().grant, subjectGrant.grant.id)
})

t.test('several grants: the caller names one', async (t) => {
  const h = await build(t)
  const first = await dataFixture(h, 5)
  const second = await insertGrant(h, { request: { fields: ['college'] }, grant: { fields: ['college'] } })
  const res = await read(h)
  t.equal(res.statusCode, 400)
  t.match(res.json(), { errors: [{ field: 'grant' }] })
  t.equal((await read(h, `?grant=${second.grant.id}`)).json().grant, second.grant.id)
  t.same(Object.keys((await read(h, `?grant=${second.grant.id}`)).json().data[0]), ['college'])
  t.equal((await read(h, `?grant=${first.grant.id}&fields=name`)).statusCode, 200)
  t.equal((await read(h, `?grant=${second.grant.id}&fields=name`)).statusCode, 403, 'the named grant\'s fields apply')
})

t.test('revoked, suspended, expired and not-yet-valid grants stop working at once', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 5)
  t.equal((await read(h)).statusCode, 200)
  const revoked = await h.as('security_admin', { method: 'POST', url: `/api/v1/grants/${grant.id}/revoke`, payload: { reason: 'purpose fulfilled' } }, { unit: 'OFFICE', sub: 'office-wang' })
  t.equal(revoked.statusCode, 200)
  const after = await read(h)
  t.equal(after.statusCode, 403, 'refused on the next read')
  t.match(after.json(), { code: 'AUTHZ_GRANT_NOT_USABLE', detail: /revoked/ })

  const db = h.database.db
  const other = await insertGrant(h, { grant: { status: 'suspended', status_reason: 'consent withdrawn' } })
  t.match((await read(h, `?grant=${other.grant.id}`)).json(), { detail: /suspended/ })
  await db.updateTable('grants').set({ status: 'active', valid_until: '2020-01-01' }).where('id', '=', other.grant.id).execute()
  t.match((await read(h, `?grant=${other.grant.id}`)).json(), { detail: /expired/ })
  await db.updateTable('grants').set({ valid_from: '2999-01-01', valid_until: '2999-12-31' }).where('id', '=', other.grant.id).execute()
  t.match((await read(h, `?grant=${other.grant.id}`)).json(), { detail: /valid from/ })
  const exportOnly = await insertGrant(h, { request: { access_modes: ['export'] }, grant: { access_modes: ['export'] } })
  t.match((await read(h, `?grant=${exportOnly.grant.id}`)).json(), { detail: /access mode api/ })
})

t.test('a change made directly in the database reaches the cache within a second', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 5)
  t.equal((await read(h)).statusCode, 200, 'the grant is cached')
  await h.database.db.updateTable('grants').set({ status: 'revoked', status_reason: 'by hand' }).where('id', '=', grant.id).execute()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal((await read(h)).statusCode, 403, 'refused a second later')
})

t.test('unmasked and third-party grants', async (t) => {
  const h = await build(t)
  await dataFixture(h, 5, { request: { unmasked_reason: 'payroll reconciliation' }, grant: { masked: false } })
  const raw = (await read(h, '?limit=1')).json()
  t.equal(raw.data[0].phone, '13800000001', 'an unmasked grant reads the stored value')
  t.same(raw.masked, [])
  const h2 = await build(t)
  await dataFixture(h2, 5, { request: { third_party: true, third_party_name: 'Analytics Ltd' }, grant: { third_party: true } })
  const third = (await read(h2, '?limit=1')).json()
  t.match(third.data[0].student_id, /^[0-9a-f]{32}$/, 'a third party gets pseudonyms')
  t.notOk(JSON.stringify(third).includes('2026000001'))
})

t.test('the daily row quota: pages are cut to what is left, then 429 with an alert', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 30, { request: { daily_row_quota: 10 }, grant: { daily_row_quota: 10 } })
  t.equal((await read(h, '?limit=7')).json().data.length, 7)
  const rest = await read(h, '?limit=7')
  t.equal(rest.json().data.length, 3, 'only what is left of the quota')
  const refused = await read(h, '?limit=7')
  t.equal(refused.statusCode, 429)
  t.match(refused.json(), { code: 'DATA_QUOTA_EXCEEDED', status: 429 })
  const event = await eventOf(h, refused.headers['x-audit-event'])
  t.match(event, { outcome: 'denied', grant_id: grant.id })
  const alert = await h.database.db.selectFrom('audit_alerts').selectAll().where('rule', '=', 'quota').executeTakeFirst()
  t.match(alert, { actor_key: `grant:${grant.id}`, actor_unit: 'MATH' }, 'the office is alerted')
  await dataPathOf(h.app.db)!.quota.flush()
  const usage = await h.database.db.selectFrom('grant_usage').selectAll().where('grant_id', '=', grant.id).executeTakeFirstOrThrow()
  t.equal(Number(usage.rows), 10, 'the usage is shared through the database')
  const schema = await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/schema' }, MATH_READER)
  t.equal(schema.json().rowsUsedToday, 10)
})

t.test('Server-Timing tells where a read\'s time goes, when asked for', async (t) => {
  const h = await build(t, { env: { DATA_SERVER_TIMING: 'true' } })
  await dataFixture(h, 5)
  t.match((await read(h)).headers['server-timing'], /^auth;dur=[\d.]+, grant;dur=[\d.]+, query;dur=[\d.]+, mask;dur=[\d.]+, audit;dur=[\d.]+, serialise;dur=[\d.]+$/)
  const h2 = await build(t)
  await dataFixture(h2, 5)
  t.equal((await read(h2)).headers['server-timing'], undefined, 'not by default')
})

t.test('no data without audit: a log that cannot be written is a 503 and no rows', async (t) => {
  const h = await build(t)
  await dataFixture(h, 5)
  const log = auditLogOf(h.app.db)!
  const appendFor = log.appendFor
  log.appendFor = async () => { throw new Error('the audit table is gone') }
  t.teardown(() => { log.appendFor = appendFor })
  const res = await read(h)
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'DATA_AUDIT_UNAVAILABLE' })
  t.notOk(res.body.includes('2026000001') || res.body.includes('138'), 'no data in the answer')
  log.appendFor = appendFor
  t.equal((await read(h)).statusCode, 200, 'back once the log is')
})
