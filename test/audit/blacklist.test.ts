import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { createTokenIssuer } from '../../src/platform/auth/token.js'
import { build, type TestApp } from '../helpers/build.js'
import { TEST_DATABASE_URL } from '../helpers/database.js'

const officer = { sub: 'sec-officer', unit: 'OFFICE' }
const NO_ID = '3a7c1e52-9d0b-4f6e-8a21-5b4c3d2e1f00'

interface Caller { sub?: string, unit?: string, client?: string, ip?: string, token?: boolean }

/** A consumer's GET /api/v1/units (any token may), from a given subject, unit, client and address. */
async function probe (h: TestApp, who: Caller = {}, app: FastifyInstance = h.app) {
  const issuer = createTokenIssuer(h.key, { issuer: h.config.JWT_ISSUER, audience: h.config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
  const token = issuer.sign({
    sub: who.sub ?? 'alice', unit: who.unit ?? 'CS', roles: ['consumer'], ...(who.client ? { client: who.client } : {})
  }, 600)
  return await app.inject({
    method: 'GET',
    url: '/api/v1/units',
    remoteAddress: who.ip ?? '127.0.0.1',
    headers: who.token === false ? {} : { authorization: `Bearer ${token}` }
  })
}

async function block (h: TestApp, body: Record<string, unknown>) {
  const res = await h.as('security_admin', { method: 'POST', url: '/api/v1/audit/blacklist', payload: { reason: 'investigation SEC-1', ...body } }, officer)
  if (res.statusCode !== 201) throw new Error(`blocking: ${res.statusCode} ${res.body}`)
  return res.json()
}

const lift = async (h: TestApp, id: string, reason = 'cleared') =>
  await h.as('security_admin', { method: 'POST', url: `/api/v1/audit/blacklist/${id}/lift`, payload: { reason } }, officer)

/** Polls until `ok` holds or `ms` pass; returns how long it took, or null. */
async function within (ms: number, ok: () => Promise<boolean>): Promise<number | null> {
  const start = Date.now()
  while (Date.now() - start <= ms) {
    if (await ok()) return Date.now() - start
    await sleep(25)
  }
  return null
}

t.test('each kind of entry blocks its caller, and only it, until lifted', async (t) => {
  const h = await build(t)
  t.equal((await probe(h, { sub: 'mallory' })).statusCode, 200)

  const person = await block(h, { kind: 'principal', value: 'mallory' })
  t.match(person, { kind: 'principal', value: 'mallory', unit: null, status: 'active', createdBy: 'sec-officer', expiresAt: null, alertId: null })
  const refused = await probe(h, { sub: 'mallory' })
  t.equal(refused.statusCode, 403, 'a blocked subject is refused at once')
  t.match(refused.json(), { code: 'AUTH_BLOCKED', detail: /this caller is blocked/ })
  t.notMatch(refused.body, /SEC-1/, 'the reason is not told')
  t.equal((await probe(h, { sub: 'mallory', unit: 'MATH' })).statusCode, 403, 'in every unit')
  t.equal((await probe(h, { sub: 'bob' })).statusCode, 200, 'others pass')

  await block(h, { kind: 'principal', value: 'eve', unit: 'MATH' })
  t.equal((await probe(h, { sub: 'eve', unit: 'MATH' })).statusCode, 403, 'a subject blocked within one unit')
  t.equal((await probe(h, { sub: 'eve', unit: 'CS' })).statusCode, 200, 'passes with another unit\'s token')

  await block(h, { kind: 'client', value: 'dgc_leaky' })
  t.equal((await probe(h, { sub: 'dgc_leaky-app', client: 'dgc_leaky' })).statusCode, 403, 'a service client')
  t.equal((await probe(h, { sub: 'dgc_other-app', client: 'dgc_other' })).statusCode, 200)

  const v4 = await block(h, { kind: 'ip', value: '10.20.0.0/16' })
  t.equal((await probe(h, { ip: '10.20.3.4' })).statusCode, 403, 'an IPv4 range')
  t.equal((await probe(h, { ip: '::ffff:10.20.3.4' })).statusCode, 403, 'also as an IPv4-mapped IPv6 address')
  t.equal((await probe(h, { ip: '10.21.0.1' })).statusCode, 200)
  const anonymous = await probe(h, { ip: '10.20.9.9', token: false })
  t.equal(anonymous.statusCode, 403, 'an address is refused before authentication')
  t.equal(anonymous.json().code, 'AUTH_BLOCKED')
  const token = await h.app.inject({
    method: 'POST', url: '/api/v1/auth/token', remoteAddress: '10.20.1.1', payload: { grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' }
  })
  t.equal(token.statusCode, 403, 'even on the public token route')
  t.match(token.json(), { code: 'AUTH_BLOCKED', detail: /this address is blocked/ })
  const health = await h.app.inject({ method: 'GET', url: '/health/live', remoteAddress: '10.20.1.1' })
  t.equal(health.statusCode, 200, 'health probes stay open')

  const v6 = await block(h, { kind: 'ip', value: '2001:DB8:ABCD:0::/48' })
  t.equal(v6.value, '2001:db8:abcd::/48', 'stored in canonical form')
  t.equal((await probe(h, { ip: '2001:db8:abcd:12::1' })).statusCode, 403, 'an IPv6 range')
  t.equal((await probe(h, { ip: '2001:db8:abce::1' })).statusCode, 200)
  await block(h, { kind: 'ip', value: '2001:db8::7' })
  t.equal((await probe(h, { ip: '2001:db8:0:0::7' })).statusCode, 403, 'a single IPv6 address')

  const lifted = await lift(h, person.id, 'mistaken identity')
  t.equal(lifted.statusCode, 200)
  t.match(lifted.json(), { status: 'lifted', liftedBy: 'sec-officer', liftReason: 'mistaken identity' })
  t.equal((await probe(h, { sub: 'mallory' })).statusCode, 200, 'lifting restores access at once')
  t.equal((await lift(h, v4.id)).statusCode, 200)
  t.equal((await probe(h, { ip: '10.20.3.4' })).statusCode, 200)

  // refusals are audited like other denials; every change is in the log with who and what
  const log = (query: string) => h.as('auditor', { method: 'GET', url: `/api/v1/audit/events?${query}` })
  const denied = (await log('action=denied&actor=mallory')).json().data
  t.ok(denied.length >= 2, 'the refusals of the blocked subject are in the log')
  t.match(denied[0], { outcome: 'denied', actor: { sub: 'mallory' }, details: { status: 403, route: '/api/v1/units' } })
  const byAddress = (await log('action=denied&actor=anonymous')).json().data
  t.ok(byAddress.some((e: { actor: { ip: string } }) => e.actor.ip === '10.20.1.1'), 'and those of a blocked address')
  const changes = (await log('actor=sec-officer')).json().data.filter((e: { operation: string }) => e.operation.startsWith('blacklist_entry.'))
  t.equal(changes.length, 8, 'six entries and two lifts')
  const liftEvent = changes.find((e: { operation: string, objectId: string }) => e.operation === 'blacklist_entry.lift' && e.objectId === person.id)
  t.match(liftEvent, { details: { reason: 'mistaken identity', before: { status: 'active' }, after: { status: 'lifted' } } })
})

t.test('an entry ends on its own when it expires; lifting twice or unknown entries are refused', async (t) => {
  const h = await build(t)
  const expiresAt = new Date(Date.now() + 3000) // room for the block and the first probe on a loaded machine
  const entry = await block(h, { kind: 'principal', value: 'temp', expiresAt: expiresAt.toISOString() })
  t.equal((await probe(h, { sub: 'temp' })).statusCode, 403)
  await sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 20)
  t.equal((await probe(h, { sub: 'temp' })).statusCode, 200, 'expiry is checked against the clock on every request')
  const got = await h.as('auditor', { method: 'GET', url: `/api/v1/audit/blacklist/${entry.id}` })
  t.match(got.json(), { status: 'expired' })
  t.equal((await lift(h, entry.id)).statusCode, 409, 'an expired entry cannot be lifted')

  const other = await block(h, { kind: 'client', value: 'dgc_x' })
  t.equal((await lift(h, other.id)).statusCode, 200)
  const again = await lift(h, other.id)
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'AUDIT_BLACKLIST_ENTRY_STATE', detail: /already lifted/ })
  t.equal((await lift(h, NO_ID)).statusCode, 404)
  t.equal((await h.as('auditor', { method: 'GET', url: `/api/v1/audit/blacklist/${NO_ID}` })).statusCode, 404)

  // the history stays: filters by status
  const list = async (q: string) => (await h.as('auditor', { method: 'GET', url: `/api/v1/audit/blacklist${q}` })).json()
  t.same((await list('?status=expired')).data.map((e: { id: string }) => e.id), [entry.id])
  t.same((await list('?status=lifted')).data.map((e: { id: string }) => e.id), [other.id])
  t.same((await list('?status=active')).data, [])
  const page = await list('?limit=1')
  t.equal(page.data[0].id, other.id, 'newest first')
  t.equal((await list(`?limit=1&cursor=${page.nextCursor}`)).data[0].id, entry.id)
})

t.test('entries are evidence: the database refuses to delete them or change them beyond a lift', async (t) => {
  const h = await build(t)
  const entry = await block(h, { kind: 'principal', value: 'kept' })
  const db = h.database.db
  await t.rejects(db.deleteFrom('audit_blacklist').where('id', '=', entry.id).execute(), /evidence/)
  await t.rejects(db.updateTable('audit_blacklist').set({ reason: 'rewritten' }).where('id', '=', entry.id).execute(), /evidence/)
  t.equal((await lift(h, entry.id)).statusCode, 200)
  await t.rejects(db.updateTable('audit_blacklist').set({ lift_reason: 'rewritten' }).where('id', '=', entry.id).execute(), /evidence/)
})

t.test('the office adds and lifts; the office and auditors read', async (t) => {
  const h = await build(t)
  const body = { kind: 'ip', value: '192.0.2.1', reason: 'x' }
  for (const role of ['system_admin', 'auditor', 'steward', 'consumer'] as const) {
    const res = await h.as(role, { method: 'POST', url: '/api/v1/audit/blacklist', payload: body })
    t.equal(res.statusCode, 403, `${role} may not block`)
  }
  const entry = await block(h, body)
  for (const role of ['security_admin', 'auditor'] as const) {
    t.equal((await h.as(role, { method: 'GET', url: '/api/v1/audit/blacklist' })).json().data.length, 1, `${role} reads`)
  }
  for (const role of ['system_admin', 'steward', 'consumer', 'supervisor', 'leadership'] as const) {
    t.equal((await h.as(role, { method: 'GET', url: `/api/v1/audit/blacklist/${entry.id}` })).statusCode, 403, `${role} may not read`)
  }
  t.equal((await h.as('auditor', { method: 'POST', url: `/api/v1/audit/blacklist/${entry.id}/lift`, payload: { reason: 'x' } })).statusCode, 403)
})

t.test('bad input is a 400 naming the field, and changes nothing', async (t) => {
  const h = await build(t)
  const cases: [Record<string, unknown>, string][] = [
    [{ kind: 'ip', value: '10.0.0.300' }, 'value'],
    [{ kind: 'ip', value: '10.0.0.0/33' }, 'value'],
    [{ kind: 'ip', value: '2001:db8::/129' }, 'value'],
    [{ kind: 'ip', value: 'example.edu.cn' }, 'value'],
    [{ kind: 'ip', value: '10.0.0.0/8/8' }, 'value'],
    [{ kind: 'principal', value: '   ' }, 'value'],
    [{ kind: 'principal', value: '' }, 'value'],
    [{ kind: 'user', value: 'x' }, 'kind'],
    [{ kind: 'ip', value: '10.0.0.1', unit: 'CS' }, 'unit'],
    [{ kind: 'principal', value: 'x', unit: 'not a unit' }, 'unit'],
    [{ kind: 'principal', value: 'x', expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
    [{ kind: 'principal', value: 'x', expiresAt: 'tomorrow' }, 'expiresAt'],
    [{ kind: 'principal', value: 'x', reason: '' }, 'reason'],
    [{ kind: 'principal', value: 'x', extra: 1 }, 'extra'],
    // nobody locks themselves out
    [{ kind: 'principal', value: 'sec-officer' }, 'value'],
    [{ kind: 'ip', value: '127.0.0.0/8' }, 'value']
  ]
  for (const [body, field] of cases) {
    const res = await h.as('security_admin', { method: 'POST', url: '/api/v1/audit/blacklist', payload: { reason: 'r', ...body } }, officer)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `${JSON.stringify(body)} names ${field}`)
  }
  const missing = await h.as('security_admin', { method: 'POST', url: '/api/v1/audit/blacklist', payload: { kind: 'principal', value: 'x' } }, officer)
  t.match(missing.json().errors, [{ field: 'reason', message: 'is required' }])
  const noLiftReason = await h.as('security_admin', { method: 'POST', url: `/api/v1/audit/blacklist/${NO_ID}/lift`, payload: {} }, officer)
  t.match(noLiftReason.json().errors, [{ field: 'reason' }])
  t.equal((await h.as('auditor', { method: 'GET', url: '/api/v1/audit/blacklist?status=gone' })).statusCode, 400)
  t.equal((await h.as('auditor', { method: 'GET', url: '/api/v1/audit/blacklist/not-a-uuid' })).statusCode, 400)

  t.same((await h.as('auditor', { method: 'GET', url: '/api/v1/audit/blacklist' })).json().data, [], 'nothing was added')
  const events = await h.database.db.selectFrom('domain_events').select('id').where('object_type', '=', 'blacklist_entry').execute()
  t.same(events, [], 'nothing was recorded')
})

t.test('a denials alert blacklists its caller for BLACKLIST_AUTO_MINUTES', async (t) => {
  const h = await build(t, { env: { BLACKLIST_AUTO_MINUTES: '30', AUDIT_ALERT_DENIALS_THRESHOLD: '5' } })
  const log = auditLogOf(h.database.db)!
  for (let i = 0; i < 6; i++) await h.as('consumer', { method: 'GET', url: '/api/v1/audit/events' }, { sub: 'prober', unit: 'MATH' })
  for (let i = 0; i < 6; i++) await probe(h, { ip: '10.66.0.9', token: false })
  for (let i = 0; i < 3; i++) await h.as('consumer', { method: 'GET', url: '/api/v1/audit/events' }, { sub: 'curious', unit: 'CS' })
  await log.evaluateAlerts()

  const alerts = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts' })).json().data as { id: number, actor: { sub: string } }[]
  t.equal(alerts.length, 2)
  const entries = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/blacklist' })).json().data
  t.equal(entries.length, 2, 'both callers over the threshold, no one else')
  const prober = entries.find((e: { kind: string }) => e.kind === 'principal')
  const proberAlert = alerts.find((a) => a.actor.sub === 'prober')!
  t.match(prober, { value: 'prober', unit: 'MATH', createdBy: 'system:alerts', alertId: proberAlert.id, reason: new RegExp(`alert ${proberAlert.id}`) })
  const minutes = (Date.parse(prober.expiresAt) - Date.parse(prober.createdAt)) / 60_000
  t.ok(minutes > 29.9 && minutes < 30.1, `blocked for 30 minutes (${minutes})`)
  t.match(entries.find((e: { kind: string }) => e.kind === 'ip'), { value: '10.66.0.9', createdBy: 'system:alerts' }, 'without a token: its address')

  // this process enforces it at once
  t.ok(await within(2000, async () => (await probe(h, { sub: 'prober', unit: 'MATH' })).statusCode === 403), 'the prober is refused')
  t.equal((await probe(h, { sub: 'prober', unit: 'CS' })).statusCode, 200, 'in its unit only')
  t.equal((await probe(h, { ip: '10.66.0.9', token: false })).statusCode, 403)
  t.equal((await probe(h, { sub: 'curious', unit: 'CS' })).statusCode, 200)

  // more refusals grow the alert; a live block is not added twice
  await log.evaluateAlerts()
  t.equal((await h.as('auditor', { method: 'GET', url: '/api/v1/audit/blacklist' })).json().data.length, 2)
  const recorded = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events?actor=system:alerts' })).json().data
  t.match(recorded, [{ operation: 'blacklist_entry.create', actor: { sub: 'system:alerts' } }, { operation: 'blacklist_entry.create' }])
})

t.test('a block made through one instance holds in another on the same database within a second', async (t) => {
  const h = await build(t)
  // PostgreSQL: a second pool, as a second process would have; PGlite: the one handle, shared
  const database = TEST_DATABASE_URL ? await h.testDb.open() : h.database
  const other = await buildApp({ config: h.config, database, mode: 'all', keys: { signing: h.key, verification: h.key }, logger: false, closeDatabase: !!TEST_DATABASE_URL })
  await other.ready()
  t.teardown(() => other.close())
  t.equal((await probe(h, { sub: 'roamer' }, other)).statusCode, 200)

  const entry = await block(h, { kind: 'principal', value: 'roamer' })
  // the reload runs every 500 ms; the bound leaves slack for a loaded CI machine running tests in parallel
  const blocked = await within(4000, async () => (await probe(h, { sub: 'roamer' }, other)).statusCode === 403)
  t.ok(blocked !== null && blocked <= 2500, `the other instance refuses it within the reload interval (${blocked} ms)`)

  t.equal((await lift(h, entry.id)).statusCode, 200)
  const unblocked = await within(4000, async () => (await probe(h, { sub: 'roamer' }, other)).statusCode === 200)
  t.ok(unblocked !== null && unblocked <= 2500, `and lets it in again within the reload interval (${unblocked} ms)`)
})
