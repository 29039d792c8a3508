// API1 (OWASP API Security Top 10, 2023), object-level authorization: every route with an object in
// its path, tried by another unit against unit A's object, answers 404 exactly as for an object
// that does not exist, and changes nothing. One table drives it (test/helpers/security/object-routes.ts)
// and must cover every parameterised route of the OpenAPI document.
import { sql } from 'kysely'
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { build, type TestApp } from '../helpers/build.js'
import { ACCESS_TABLE } from '../helpers/security/access-table.js'
import { CROSS_UNIT_ROLES, OBJECT_CASES, OBJECT_EXCEPTIONS, PUBLISHED, type ObjectCase } from '../helpers/security/object-routes.js'
import { unitObjects, type Objects } from '../helpers/security/objects.js'

const LAW = { consumer: { unit: 'LAW', sub: 'law-bob' }, steward: { unit: 'LAW', sub: 'law-steward' } }
const ABSENT_ID = '00000000-0000-4000-8000-000000000000'
const ABSENT_CODE = 'no_such_dataset'
/**
 * The audit trail (its tables and partitions) records denials too, by design, and the principal
 * registry every accepted token (written by a timer): neither is the objects' state.
 */
const isAudit = (table: string) => table.startsWith('audit_') || table === 'principals'
/** Bookkeeping a background timer touches with no change (the quota sync refreshes recent grants' rows). */
const VOLATILE: Record<string, string[]> = { grant_usage: ['updated_at'] }

const h = await build(t)
const objects: Objects = await unitObjects(h)
await settle(h)

const urlOf = (c: ObjectCase, id: string) => Object.entries(c.fixed ?? {}).reduce((path, [name, value]) => path.replace(`{${name}}`, value), c.path)
  .replace(/\{(code|dataset|id)\}/, encodeURIComponent(id)).replace('{key}', '2026000001')

async function attempt (h: TestApp, c: ObjectCase, id: string): Promise<LightMyRequestResponse> {
  const request = { method: c.method, url: urlOf(c, id), ...(c.payload !== undefined ? { payload: c.payload as object } : {}) }
  if (c.role === null) return await h.app.inject(request)
  return await h.as(c.role, request, c.role === 'consumer' ? LAW.consumer : LAW.steward)
}

/** Every row of every table but the audit trail, sorted: what "nothing changed" compares. */
async function state (h: TestApp): Promise<Record<string, string[]>> {
  await auditLogOf(h.database.db)?.flush()
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(h.database.db)
  const out: Record<string, string[]> = {}
  for (const { name } of tables.rows) {
    if (isAudit(name)) continue
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(h.database.db)
    out[name] = rows.rows.map((r) => {
      for (const column of VOLATILE[name] ?? []) Reflect.deleteProperty(r, column)
      return JSON.stringify(r)
    }).sort()
  }
  return out
}

/** Waits until what the fixtures started in the background (the export's bookkeeping) is done. */
async function settle (h: TestApp) {
  let last = JSON.stringify(await state(h))
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const now = JSON.stringify(await state(h))
    if (now === last) return
    last = now
  }
  throw new Error('the fixtures never settled')
}

/** The problem document without what differs between any two requests. */
const problemOf = (res: LightMyRequestResponse, id: string, stand: string) => {
  const { requestId: _, ...rest } = res.json() as Record<string, unknown>
  return JSON.parse(JSON.stringify(rest).replaceAll(id, stand))
}

t.test('every object exists for its owner', async (t) => {
  for (const [name, o] of Object.entries(objects)) {
    const res = await h.as(o.owner.role, { method: 'GET', url: o.owner.url }, o.owner.claims)
    t.equal(res.statusCode, 200, `${name}: ${res.body}`)
  }
})

t.test('another unit gets 404, as for an absent object, and changes nothing', async (t) => {
  for (const c of OBJECT_CASES) {
    const label = `${c.role ?? 'anonymous'} of LAW: ${c.method} ${c.path} on ${c.object}`
    const object = objects[c.object]
    const absent = /^[0-9a-f-]{36}$/.test(object.id) ? ABSENT_ID : ABSENT_CODE
    const before = await state(h)
    const res = await attempt(h, c, object.id)
    t.equal(res.statusCode, 404, `${label}: ${res.body.slice(0, 200)}`)
    t.same(await state(h), before, `${label}: nothing changed`)
    const unknown = await attempt(h, c, absent)
    t.equal(unknown.statusCode, 404, `${label}: an absent object is 404 too`)
    // nothing tells the two apart: same code, same detail (but for the id asked), nothing of the object
    t.same(problemOf(res, object.id, '<id>'), problemOf(unknown, absent, '<id>'), `${label}: indistinguishable from an absent object`)
  }
})

t.test('on a published dataset, another unit is refused and changes nothing', async (t) => {
  for (const c of PUBLISHED) {
    const label = `${c.role ?? 'anonymous'} of LAW: ${c.method} ${c.path} on the published ${c.object}`
    const before = await state(h)
    const res = await attempt(h, c, objects[c.object].id)
    t.ok([403, 404].includes(res.statusCode), `${label}: ${res.statusCode} ${res.body.slice(0, 200)}`)
    t.same(await state(h), before, `${label}: nothing changed`)
  }
})

t.test('the objects are intact for their owners after every attempt', async (t) => {
  for (const [name, o] of Object.entries(objects)) {
    const res = await h.as(o.owner.role, { method: 'GET', url: o.owner.url }, o.owner.claims)
    t.equal(res.statusCode, 200, `${name}: ${res.body}`)
  }
  const request = (await h.as('consumer', { method: 'GET', url: objects.request.owner.url }, objects.request.owner.claims)).json()
  t.equal(request.status, 'pending_review', 'the request was neither reviewed nor withdrawn')
  t.equal((await h.as('consumer', { method: 'GET', url: objects.grant.owner.url }, objects.grant.owner.claims)).json().status, 'active', 'the grant was not revoked')
})

t.test('the table covers every parameterised route of the OpenAPI document', async (t) => {
  const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> }
  const parameterised = Object.entries(spec.paths)
    .filter(([path]) => path.includes('{'))
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort()
  const cases = new Set(OBJECT_CASES.map((c) => `${c.method} ${c.path}`))
  const exceptions = new Set(OBJECT_EXCEPTIONS.map((e) => `${e.method} ${e.path}`))
  t.same([...cases].filter((r) => exceptions.has(r)), [], 'a route is a case or an exception, not both')
  t.same([...new Set([...cases, ...exceptions])].sort(), parameterised)
})

t.test('each case calls with a role the route admits: the 404 is the object\'s, not the role\'s', async (t) => {
  for (const c of OBJECT_CASES.filter((c) => c.role !== null)) {
    const access = ACCESS_TABLE.find((r) => r.method === c.method && r.path === c.path)
    t.ok(access !== undefined && (access.allowed === 'all' || access.allowed.includes(c.role!)), `${c.role} may call ${c.method} ${c.path}`)
  }
})

t.test('a cross-unit exception is callable by cross-unit roles alone', async (t) => {
  for (const e of OBJECT_EXCEPTIONS.filter((e) => e.kind === 'cross-unit')) {
    const access = ACCESS_TABLE.find((r) => r.method === e.method && r.path === e.path)
    t.ok(access, `${e.method} ${e.path} is in the access table`)
    const allowed = access?.allowed === 'all' ? ['all'] : access?.allowed ?? []
    t.same(allowed.filter((role) => !(CROSS_UNIT_ROLES as readonly string[]).includes(role)), [], `${e.method} ${e.path}: ${e.reason}`)
  }
})

t.test('the public exceptions are public indeed', async (t) => {
  const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { security?: unknown[] }>> }
  t.equal((await h.as('consumer', { method: 'GET', url: '/api/v1/units/CS' }, LAW.consumer)).statusCode, 200, 'another unit reads a unit\'s profile')
  t.same(spec.paths['/api/v1/open-requests/{id}/status']?.get?.security, [], 'an open request\'s status takes its receipt, no token')
  await h.as('security_admin', { method: 'POST', url: '/api/v1/purposes', payload: { code: 'public_check', nameZh: '公开', nameEn: 'public', description: 'the list is public' } })
  t.equal((await h.as('consumer', { method: 'GET', url: '/api/v1/purposes/public_check' }, LAW.consumer)).statusCode, 200, 'any unit reads a purpose of the office\'s list')
  t.same(OBJECT_EXCEPTIONS.filter((e) => e.kind === 'public').map((e) => `${e.method} ${e.path}`), ['GET /api/v1/units/{code}', 'GET /api/v1/open-requests/{id}/status', 'GET /api/v1/purposes/{code}'])
})
