// Fuzzing from the OpenAPI document (issue 9). For every operation of openapi/openapi.json, requests
// generated from its parameter and body schemas (fast-check), mixed with the fixture's real ids and
// codes and with hostile values (SQL, path traversal, NUL, RTL, lone surrogates, huge strings, deep
// nesting, __proto__ keys, wrong types, missing and unknown fields, broken JSON, wrong content
// types, over-limit bodies), as an allowed role, a wrong role, no token or a garbage token. Every
// response must be a status the operation declares (never a 5xx), with a declared content type and a
// body valid against the declared schema. Afterwards the audit chain still verifies.
//
// Bounded and reproducible: a fixed seed (FUZZ_SEED overrides) and 100 runs per operation (FUZZ_RUNS),
// so that every run sends the same inputs, however busy the machine. FUZZ_BUDGET_S sets a time budget
// shared by the operations, for long runs (FUZZ_RUNS=2000 FUZZ_BUDGET_S=600): a loaded machine then
// runs fewer inputs of the same sequence rather than time out. FUZZ_SHRINK=1 shrinks a failure to its
// smallest input (slower); FUZZ_ONLY=<operationId> fuzzes one operation.
import fc from 'fast-check'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { build, type TestApp } from '../helpers/build.js'
import type { Context } from './fuzz/arbitraries.js'
import { loadDocument, operationsOf, ResponseChecker } from './fuzz/document.js'
import { PRINCIPALS, setupFixture, type Principal } from './fuzz/fixtures.js'
import { describe, injectOptions, knownFor, requestArb } from './fuzz/requests.js'

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261124
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 100
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_S) > 0 ? Number(process.env.FUZZ_BUDGET_S) * 1000 : Infinity
const SHRINK = process.env.FUZZ_SHRINK === '1'
const ONLY = process.env.FUZZ_ONLY

/** A stable per-operation seed, so that adding an operation does not reshuffle the others. */
function seedOf (operationId: string): number {
  let h = 2166136261
  for (const c of operationId) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
  return (SEED ^ h) | 0
}

const doc = loadDocument()
const checker = new ResponseChecker(doc)
const operations = operationsOf(doc)

/** Rate limits out of the way: 429 is declared everywhere, but it would hide the rest. */
const env = { RATE_LIMIT_MAX: '1000000', OPEN_RATE_LIMIT_MAX: '1000000' }

async function auditEvents (h: TestApp): Promise<number> {
  await auditLogOf(h.app.db)?.flush()
  const row = await h.database.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

function tokenOf (h: TestApp) {
  const cache = new Map<string, string>()
  return (p: Principal) => {
    const k = `${p.role}|${p.unit}|${p.sub}`
    let tok = cache.get(k)
    if (!tok) { tok = h.token(p.role, { unit: p.unit, sub: p.sub, ttl: 3600 }); cache.set(k, tok) }
    return tok
  }
}

/**
 * What the fuzzer found, each spelled out as it failed (before the fix in parentheses), answered now
 * as the document declares.
 */
const REGRESSIONS: Array<{ why: string, op: string, caller: Principal | null, method: 'GET' | 'POST' | 'DELETE', url: string, headers?: Record<string, string>, payload?: string, status: number, audited?: boolean }> = [
  { why: 'NUL in a query string reached PostgreSQL (500)', op: 'listGrants', caller: PRINCIPALS.steward[1]!, method: 'GET', url: '/api/v1/grants?limit=200&dataset=drafts&consumerUnit=CS&subject=a%00b', status: 400 },
  { why: 'NUL in a body string reached PostgreSQL (500)', op: 'createUnit', caller: PRINCIPALS.system_admin[0]!, method: 'POST', url: '/api/v1/units', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ code: 'NUL', name: 'a\u0000b', officer: { name: 'x', contact: 'y' } }), status: 400 },
  { why: 'NUL in a data path parameter: the refusal could not be audited (no X-Audit-Event)', op: 'createExport', caller: PRINCIPALS.consumer[0]!, method: 'POST', url: '/api/v1/data/a%00b/exports', headers: { 'content-type': 'application/json' }, payload: '{}', status: 400, audited: true },
  { why: 'samplePercent=8e-323 underflowed TABLESAMPLE\'s real (500)', op: 'getDatasetQuality', caller: PRINCIPALS.security_admin[0]!, method: 'GET', url: '/api/v1/datasets/courses/quality?samplePercent=8e-323', status: 400 },
  { why: 'a trace without a body (no content type) read .csv of undefined (500)', op: 'traceWatermark', caller: PRINCIPALS.security_admin[0]!, method: 'POST', url: '/api/v1/watermarks/trace', status: 400 },
  { why: 'a body in an unsupported content type: 415, which the operation did not declare', op: 'createShareRequest', caller: PRINCIPALS.steward[0]!, method: 'POST', url: '/api/v1/share-requests', headers: { 'content-type': 'application/xml' }, payload: '{"a":1}', status: 415 },
  { why: 'a body over the limit: 413, which the operation did not declare', op: 'createExport', caller: PRINCIPALS.consumer[0]!, method: 'POST', url: '/api/v1/data/students/exports', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ x: 'a'.repeat(1_100_000) }), status: 413, audited: true },
  { why: 'a path parameter over maxParamLength: Fastify\'s own 414 JSON, undeclared and no problem document', op: 'getGrant', caller: null, method: 'GET', url: `/api/v1/grants/${'A'.repeat(300)}`, status: 400 },
  { why: 'from=Infinity passed as an integer and reached PostgreSQL\'s bigint (500)', op: 'verifyAuditChain', caller: PRINCIPALS.auditor[0]!, method: 'GET', url: '/api/v1/audit/verify?from=Infinity', status: 400 },
  { why: 'from=1e308 passed as an integer and reached PostgreSQL\'s bigint (500)', op: 'verifyAuditChain', caller: PRINCIPALS.auditor[0]!, method: 'GET', url: '/api/v1/audit/verify?from=1e308&to=17', status: 400 },
  { why: 'an unpaired surrogate in a body string: jsonb refused it (500)', op: 'liftBlacklistEntry', caller: PRINCIPALS.security_admin[0]!, method: 'POST', url: '/api/v1/audit/blacklist/{id}/lift', headers: { 'content-type': 'application/json' }, payload: '{"reason":"x\\udfffy"}', status: 400 },
  { why: 'open records as CSV: the document declared the JSON page schema for text/csv too', op: 'getOpenRecords', caller: null, method: 'GET', url: '/open/v1/datasets/opendata/records?limit=7&format=csv', status: 200, audited: true },
  { why: 'a path segment that is not UTF-8 (%ED%A0%80, a lone surrogate): Fastify\'s own 400 JSON, no problem document', op: 'deleteSystem', caller: null, method: 'DELETE', url: '/api/v1/systems/%ED%A0%80', status: 400 }
]

t.comment(`fuzz seed ${SEED} (FUZZ_SEED), ${RUNS} runs per operation (FUZZ_RUNS), ${operations.length} operations`)

t.test('every operation of the document, fuzzed, answers as the document declares', async (t) => {
  const started = Date.now()
  const h = await build(t, { env })
  const fixture = await setupFixture(h)
  const token = tokenOf(h)
  let requests = 0
  const statuses = new Map<string, number>()
  const slow: string[] = []
  t.comment(`fixture ready in ${Date.now() - started} ms`)

  t.equal(operations.length > 90, true, 'the document lists the operations')
  for (const r of REGRESSIONS) {
    const op = operations.find((o) => o.operationId === r.op)!
    const res = await h.app.inject({
      method: r.method,
      url: r.url.replace('{id}', fixture.ids['/api/v1/audit/blacklist/']![0]!),
      headers: { ...r.headers, ...(r.caller ? { authorization: `Bearer ${token(r.caller)}` } : {}) },
      ...(r.payload !== undefined ? { payload: r.payload } : {})
    })
    t.equal(res.statusCode, r.status, `regression: ${r.why}: ${res.body.slice(0, 200)}`)
    t.same(checker.check(op, res), [], `regression: ${r.why}: as declared`)
    if (r.audited) t.match(res.headers['x-audit-event'], /^[0-9]+$/, `regression: ${r.why}: audited`)
  }
  const fuzzed = ONLY ? operations.filter((o) => o.operationId === ONLY) : operations
  const fuzzStarted = Date.now()
  const eventsBefore = await auditEvents(h)
  const cut: string[] = []
  for (const [i, op] of fuzzed.entries()) {
    const ctx: Context = { components: doc.components.schemas, known: knownFor(op, fixture.known, fixture.ids) }
    const seed = seedOf(op.operationId)
    const opStarted = Date.now()
    // what is left of the budget, shared by the operations still to fuzz; a slow one may take up to
    // four shares (the later ones get less), so that it is not cut on a machine that is merely busy
    const limit = Math.max(250, 4 * (BUDGET_MS - (Date.now() - fuzzStarted)) / (fuzzed.length - i))
    const out = await fc.check(fc.asyncProperty(requestArb(op, ctx), async (r) => {
      requests++
      const t0 = Date.now()
      const res = await h.app.inject(injectOptions(r, token))
      const took = Date.now() - t0
      if (took > 1000) slow.push(`${took} ms ${res.statusCode} ${describe(r).slice(0, 400)}`)
      const key = `${res.statusCode}`
      statuses.set(key, (statuses.get(key) ?? 0) + 1)
      const problems = checker.check(op, res)
      if (problems.length > 0) throw new Error(`${problems.join('\n')}\n  request: ${describe(r)}`)
    }), { seed, numRuns: RUNS, endOnFailure: !SHRINK, ...(Number.isFinite(limit) ? { interruptAfterTimeLimit: limit } : {}) })
    const failures: string[] = []
    if (out.failed) {
      const cause = out.errorInstance as Error | undefined
      failures.push(`${(fc.defaultReportMessage(out) ?? '').slice(0, 3000)}\n${String(cause?.message ?? '').slice(0, 3000)}`)
    }
    if (out.interrupted) cut.push(`${op.operationId} ${out.numRuns}`)
    t.same(failures, [], `${op.method} ${op.path} (${op.operationId}, seed ${seed}, ${out.numRuns} runs, ${Date.now() - opStarted} ms)`)
  }
  if (cut.length > 0) t.comment(`time budget: fewer runs for ${cut.length} operations (${cut.join(', ')})`)
  for (const line of slow) t.comment(`slow: ${line}`)
  t.comment(`${requests} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`)

  // nothing leaked into the prototypes of this process
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted')
  t.equal(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype not polluted (isAdmin)')

  const eventsAfter = await auditEvents(h)
  // the tables the SQL-looking strings named are still there, and the audit chain holds
  const units = await h.as('system_admin', { method: 'GET', url: '/api/v1/units?limit=200' }, { unit: 'OFFICE', sub: 'final-admin' })
  t.equal(units.statusCode, 200, units.body)
  t.ok((units.json().data as Array<{ code: string }>).some((u) => u.code === 'CS'), 'the units are intact')
  await auditLogOf(h.app.db)?.flush()
  const verify = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/verify' }, { unit: 'AUDIT', sub: 'final-auditor' })
  t.equal(verify.statusCode, 200, verify.body)
  t.match(verify.json(), { ok: true, firstBroken: null }, 'the audit chain still verifies')
  t.ok(eventsAfter > eventsBefore, `the fuzzed calls were audited (${eventsAfter - eventsBefore} events)`)
  t.ok(verify.json().checked >= eventsAfter, `the verification covered the whole chain (${verify.json().checked} events)`)
})
