/**
 * OWASP API4:2023 unrestricted resource consumption: bodies, batches, page sizes, request rates,
 * masking rows, leak-trace uploads and exports all have limits, and passing one is a problem
 * document (413, 400 naming the field, 429 with Retry-After), never a 500 and never partial work.
 * Deeper cases live beside their features: test/catalog/records.test.ts (10,000 records pass),
 * test/masking/api.test.ts, test/gateway/exports.test.ts (export concurrency),
 * test/gateway/open-data.test.ts (the open API's own rate limit), test/platform/http.test.ts.
 */
import t, { type Test } from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { MAX_BATCH_ROWS, INGEST_BODY_LIMIT_BYTES } from '../../src/catalog/records/schemas.js'
import { MAX_LIMIT } from '../../src/gateway/data/plan.js'
import { TRACE_BODY_LIMIT } from '../../src/gateway/watermarks/schemas.js'
import { MASKING_BODY_LIMIT_BYTES, MAX_ROWS } from '../../src/masking/schemas.js'
import { ROLES, type Role } from '../../src/platform/auth/roles.js'
import { build } from '../helpers/build.js'
import { dataFixture, MATH_READER } from '../helpers/data.js'

const problemType = 'application/problem+json; charset=utf-8'

function isProblem (t: Test, res: { statusCode: number, headers: Record<string, unknown>, json: () => { status: number } }, status: number, label: string) {
  t.equal(res.statusCode, status, label)
  t.equal(res.headers['content-type'], problemType, `${label}: a problem document`)
  t.equal(res.json().status, status, label)
}

t.test('the limits are what the documentation says', async (t) => {
  t.equal(MAX_BATCH_ROWS, 10_000)
  t.equal(MAX_ROWS, 10_000)
  t.equal(MAX_LIMIT, 1000)
  t.equal(INGEST_BODY_LIMIT_BYTES, 32 * 1024 * 1024)
  t.equal(MASKING_BODY_LIMIT_BYTES, 32 * 1024 * 1024)
  t.equal(TRACE_BODY_LIMIT, 50 * 1024 * 1024)
})

t.test('bodies: BODY_LIMIT_BYTES everywhere, larger limits only where the work needs them', async (t) => {
  const h = await build(t)
  t.equal(h.config.BODY_LIMIT_BYTES, 1024 * 1024, 'the default is 1 MiB')
  const over = (bytes: number) => Buffer.alloc(bytes + 1, 'a')

  const unit = await h.as('system_admin', { method: 'POST', url: '/api/v1/units', payload: over(h.config.BODY_LIMIT_BYTES), headers: { 'content-type': 'application/json' } })
  isProblem(t, unit, 413, 'a body over BODY_LIMIT_BYTES')
  t.equal(unit.json().code, 'BODY_TOO_LARGE')

  const token = await h.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload: over(4096), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  isProblem(t, token, 413, 'a token request over 4 KB')

  const records = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/students/records', payload: over(INGEST_BODY_LIMIT_BYTES), headers: { 'content-type': 'application/json' } })
  isProblem(t, records, 413, 'an ingest body over 32 MiB')

  const masking = await h.as('consumer', { method: 'POST', url: '/api/v1/masking/apply', payload: over(MASKING_BODY_LIMIT_BYTES), headers: { 'content-type': 'application/json' } })
  isProblem(t, masking, 413, 'a masking body over 32 MiB')

  const trace = await h.as('auditor', { method: 'POST', url: '/api/v1/watermarks/trace', payload: over(TRACE_BODY_LIMIT), headers: { 'content-type': 'text/csv' } })
  isProblem(t, trace, 413, 'a leak-trace upload over 50 MiB')

  // a declared length over the limit is refused before the body is read
  const declared = await h.as('system_admin', { method: 'POST', url: '/api/v1/units', payload: '{}', headers: { 'content-type': 'application/json', 'content-length': String(h.config.BODY_LIMIT_BYTES + 1) } })
  isProblem(t, declared, 413, 'a Content-Length over the limit')

  const units = await h.as('consumer', { method: 'GET', url: '/api/v1/units' })
  t.same(units.json().data, [], 'nothing was written')
})

t.test('batches and rows: records, masking apply, detect and anonymity refuse more than 10,000 rows with 413', async (t) => {
  const h = await build(t)
  const rows = Array.from({ length: MAX_BATCH_ROWS + 1 }, (_, i) => ({ n: i }))

  const json = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/students/records', payload: rows })
  isProblem(t, json, 413, `${MAX_BATCH_ROWS + 1} records as JSON`)
  t.match(json.json().detail, /10000/)
  const ndjson = await h.as('steward', {
    method: 'PUT', url: '/api/v1/datasets/students/records', payload: rows.map((r) => JSON.stringify(r)).join('\n'), headers: { 'content-type': 'application/x-ndjson' }
  })
  isProblem(t, ndjson, 413, `${MAX_BATCH_ROWS + 1} records as NDJSON`)

  const bodies = {
    apply: { rows, rules: { n: { strategy: 'redact' } } },
    detect: { rows },
    anonymity: { rows, quasiIdentifiers: ['n'], k: 2 }
  }
  for (const [route, payload] of Object.entries(bodies)) {
    const res = await h.as('consumer', { method: 'POST', url: `/api/v1/masking/${route}`, payload })
    isProblem(t, res, 413, `masking ${route} with ${MAX_ROWS + 1} rows`)
    t.equal(res.json().code, 'MASKING_TOO_MANY_ROWS', route)
  }
  const ok = await h.as('consumer', { method: 'POST', url: '/api/v1/masking/detect', payload: { rows: rows.slice(0, MAX_ROWS) } })
  t.equal(ok.statusCode, 200, `${MAX_ROWS} rows are accepted`)
})

interface Operation { parameters?: { name: string, in: string, schema?: { maximum?: number } }[], description?: string, security?: unknown[] }

/** The role a route requires, as its description in the OpenAPI document says ("Requires role `x`…"); none: any token. */
function roleFor (op: Operation): Role {
  const named = /Requires role `([a-z_]+)`/.exec(op.description ?? '')?.[1]
  return named && (ROLES as readonly string[]).includes(named) ? named as Role : 'consumer'
}

t.test('page sizes: every list route in the OpenAPI document refuses a limit above its maximum, naming `limit`', async (t) => {
  const h = await build(t)
  const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Operation>> }
  const lists: { path: string, op: Operation, max: number }[] = []
  for (const [path, operations] of Object.entries(doc.paths)) {
    const op = operations.get
    const limit = op?.parameters?.find((p) => p.in === 'query' && p.name === 'limit')
    if (op && limit) lists.push({ path, op, max: limit.schema?.maximum ?? NaN })
  }
  t.ok(lists.length >= 20, `${lists.length} list routes found`)
  t.ok(lists.some((l) => l.path === '/api/v1/data/{dataset}/records'), 'the data path is among them')
  t.ok(lists.some((l) => l.path.startsWith('/open/v1/')), 'and the open API')

  for (const { path, op, max } of lists) {
    t.ok(Number.isInteger(max) && max <= 1000, `${path}: a maximum is declared (${max})`)
    const url = path.replace(/\{[^}]+\}/g, 'X')
    const role = roleFor(op)
    const call = async (limit: string) => path.startsWith('/open/')
      ? await h.app.inject({ method: 'GET', url, query: { limit } })
      : await h.as(role, { method: 'GET', url, query: { limit } })
    for (const limit of [String(max + 1), '0', '-1', '1e9', 'all']) {
      const res = await call(limit)
      isProblem(t, res, 400, `${path} limit=${limit} as ${role}`)
      t.ok(res.json().errors?.some((e: { field: string }) => e.field === 'limit'), `${path} limit=${limit}: names the field (${JSON.stringify(res.json().errors)})`)
    }
    const atMax = await call(String(max))
    t.ok(atMax.statusCode !== 400 || !atMax.json().errors?.some((e: { field: string }) => e.field === 'limit'), `${path}: limit=${max} is allowed (${atMax.statusCode})`)
  }
})

t.test('request rates: RATE_LIMIT_MAX per caller and window, then 429 with Retry-After', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_MS: '60000' } })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) statuses.push((await h.as('consumer', { method: 'POST', url: '/api/v1/masking/detect', payload: { rows: [{ a: 1 }] } }, { sub: 'hasty' })).statusCode)
  t.same(statuses, [200, 200, 200, 200, 200, 429])
  const limited = await h.as('steward', { method: 'GET', url: '/api/v1/units' }, { sub: 'hasty' })
  isProblem(t, limited, 429, 'every route shares the caller\'s budget')
  t.equal(limited.json().code, 'RATE_LIMITED')
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After within the window (${retryAfter} s)`)
  t.equal(limited.headers['x-ratelimit-limit'], '5')
  t.equal((await h.as('consumer', { method: 'GET', url: '/api/v1/units' }, { sub: 'patient' })).statusCode, 200, 'another caller is not affected')
})

t.test('a flood of bad tokens is stopped by the denials alert, which blocks the address', async (t) => {
  // the rate limiter counts authenticated callers; refusals before authentication are bounded by the
  // audit log's denials rule instead (AUDIT_ALERT_DENIALS_THRESHOLD, BLACKLIST_AUTO_MINUTES)
  const h = await build(t, { env: { BLACKLIST_AUTO_MINUTES: '30', AUDIT_ALERT_DENIALS_THRESHOLD: '5' } })
  const from = '192.0.2.7'
  for (let i = 0; i < 6; i++) {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/units', remoteAddress: from, headers: { authorization: `Bearer a.b${i}.c` } })
    t.equal(res.statusCode, 401)
  }
  await auditLogOf(h.database.db)!.evaluateAlerts()
  await h.app.blocklist.refresh()
  const valid = await h.app.inject({ method: 'GET', url: '/api/v1/units', remoteAddress: from, headers: { authorization: `Bearer ${h.token('consumer')}` } })
  isProblem(t, valid, 403, 'the address is blocked, even with a valid token')
  t.equal(valid.json().code, 'AUTH_BLOCKED')
  const other = await h.app.inject({ method: 'GET', url: '/api/v1/units', remoteAddress: '192.0.2.8', headers: { authorization: `Bearer ${h.token('consumer')}` } })
  t.equal(other.statusCode, 200, 'other addresses are not')
})

t.test('data reads and exports: page size, daily row quota and the largest export', async (t) => {
  const h = await build(t, { env: { EXPORT_MAX_ROWS: '100' } })
  await dataFixture(h, 150, {
    request: { access_modes: ['api', 'export'], daily_row_quota: 120 },
    grant: { access_modes: ['api', 'export'], daily_row_quota: 120 }
  })
  const read = async (limit: number) => await h.as('consumer', { method: 'GET', url: `/api/v1/data/students/records?limit=${limit}` }, MATH_READER)

  const tooBig = await read(MAX_LIMIT + 1)
  isProblem(t, tooBig, 400, `limit=${MAX_LIMIT + 1}`)
  t.match(tooBig.json().errors, [{ field: 'limit' }])
  t.ok(tooBig.headers['x-audit-event'], 'the refusal is audited')

  const bigExport = await h.as('consumer', { method: 'POST', url: '/api/v1/data/students/exports', payload: {} }, MATH_READER)
  isProblem(t, bigExport, 400, 'an export of 150 rows with EXPORT_MAX_ROWS=100')
  t.match(bigExport.json().detail, /at most 100/)

  const first = await read(100)
  t.equal(first.statusCode, 200)
  t.equal(first.json().data.length, 100)
  const cut = await read(100)
  t.equal(cut.statusCode, 200)
  t.equal(cut.json().data.length, 20, 'the page is cut to what is left of the daily quota (120)')
  const over = await read(10)
  isProblem(t, over, 429, 'past the daily row quota')
  t.equal(over.json().code, 'DATA_QUOTA_EXCEEDED')
  t.ok(over.headers['x-audit-event'], 'the refusal is audited')
})
