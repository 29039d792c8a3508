// Offboarding (R1.4): a departing person's grants, open requests and service clients end at once, in
// one transaction, and the departure is recorded with its one-year confidentiality period.
import type { Kysely } from 'kysely'
import t from 'tap'
import { createAgreementRepository } from '../../src/authorization/agreements/repository.js'
import { eventsOf } from '../../src/platform/events.js'
import { build, createUnit, type TestApp } from '../helpers/build.js'
import { insertGrant } from '../helpers/grants.js'

const problemType = 'application/problem+json; charset=utf-8'
const OFFICE = { sub: 'office-liu', unit: 'OFFICE' }

async function offboard (h: TestApp, sub: string, body: object = { unit: 'CS', reason: 'resigned' }, role: 'security_admin' | 'system_admin' = 'security_admin') {
  return await h.as(role, { method: 'POST', url: `/api/v1/principals/${encodeURIComponent(sub)}/offboard`, payload: body }, OFFICE)
}

async function createClient (h: TestApp, body: object) {
  const res = await h.as('system_admin', { method: 'POST', url: '/api/v1/clients', payload: { unit: 'CS', roles: ['consumer'], ...body } })
  if (res.statusCode !== 201) throw new Error(`creating a client: ${res.statusCode} ${res.body}`)
  return res.json() as { clientId: string, clientSecret: string }
}

const grantRow = async (h: TestApp, id: string) => await h.database.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
const requestRow = async (h: TestApp, id: string) => await h.database.db.selectFrom('share_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
const clientRow = async (h: TestApp, id: string) => await h.database.db.selectFrom('service_clients').selectAll().where('client_id', '=', id).executeTakeFirstOrThrow()
const eventCount = async (h: TestApp) => Number((await h.database.db.selectFrom('domain_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
const offboardings = async (h: TestApp) => await h.database.db.selectFrom('offboardings').selectAll().orderBy('seq').execute()

/** One year on as PostgreSQL counts it: the same day and time, 29 February becoming the 28th. */
function oneYearOn (iso: string): string {
  const d = new Date(iso)
  const next = new Date(d)
  next.setUTCFullYear(d.getUTCFullYear() + 1)
  if (next.getUTCMonth() !== d.getUTCMonth()) next.setUTCDate(0)
  return next.toISOString()
}

/** Alice's rights and everyone else's: what an offboarding must end and what it must leave alone. */
async function fixtures (h: TestApp) {
  await createUnit(h, 'CS')
  const alice = {
    active: await insertGrant(h, { grant: { subject: 'alice' } }),
    suspended: await insertGrant(h, { grant: { subject: 'alice', status: 'suspended', status_reason: 'consent withdrawn', status_changed_by: 'x', status_changed_at: new Date() } }),
    revoked: await insertGrant(h, { grant: { subject: 'alice', status: 'revoked', status_reason: 'earlier', status_changed_by: 'x', status_changed_at: new Date('2026-01-01T00:00:00Z') } }),
    pending: await insertGrant(h, { request: { requested_by: 'alice', status: 'pending_review' } }),
    approved: await insertGrant(h, { request: { requested_by: 'alice', status: 'approved', needs_agreement: true } }),
    rejected: await insertGrant(h, { request: { requested_by: 'alice', status: 'rejected' } }),
    filedActive: await insertGrant(h, { request: { requested_by: 'alice', status: 'active' } })
  }
  const others = {
    bobGrant: await insertGrant(h, { grant: { subject: 'bob' } }),
    unitGrant: await insertGrant(h),
    bobPending: await insertGrant(h, { request: { requested_by: 'bob', status: 'pending_review' } }),
    // a subject that merely contains alice's sub is someone else
    aliceLike: await insertGrant(h, { grant: { subject: 'alice2' }, request: { requested_by: 'alice2', status: 'pending_review' } })
  }
  const agreement = await createAgreementRepository(h.database.db).insert({
    requestId: alice.approved.request.id,
    consumerUnit: 'MATH',
    producerUnit: 'CS',
    content: 'tripartite agreement',
    digests: { sha256: 'a', sm3: 'b' }
  }, h.database.db)
  const clients = {
    aliceInternal: await createClient(h, { name: 'alice internal', holder: 'alice' }),
    aliceVendor: await createClient(h, {
      name: 'alice vendor',
      holder: 'alice',
      vendor: { name: 'Vendor Co.', agreement: { reference: 'C-1', signer: 'W', signedAt: '2026-01-01T00:00:00Z', expiresAt: '2099-01-01T00:00:00Z' } }
    }),
    bob: await createClient(h, { name: 'bob', holder: 'bob' }),
    nobody: await createClient(h, { name: 'unheld' })
  }
  return { alice, others, agreement, clients }
}

t.test('offboarding ends exactly what the person holds, in one go, and starts a one-year confidentiality period', async (t) => {
  const h = await build(t)
  const { alice, others, agreement, clients } = await fixtures(h)
  const before = Date.now()
  const res = await offboard(h, 'alice', { unit: 'CS', reason: 'resigned', exitAudit: true })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.match(body, { sub: 'alice', unit: 'CS', reason: 'resigned', exitAudit: true, offboardedBy: 'office-liu', inConfidentiality: true })
  t.same([...body.revokedGrants].sort(), [alice.active.grant.id, alice.suspended.grant.id].sort(), 'the active and suspended grants to alice')
  t.same([...body.withdrawnRequests].sort(), [alice.pending.request.id, alice.approved.request.id].sort(), 'her requests still open')
  t.same(body.disabledClients, [clients.aliceInternal.clientId, clients.aliceVendor.clientId].sort(), 'the clients she holds')
  t.ok(Math.abs(Date.parse(body.offboardedAt) - before) < 60_000, 'offboarded now')
  t.equal(body.confidentialityUntil, oneYearOn(body.offboardedAt), 'the confidentiality period ends one year on')
  const blocked = await h.database.db.selectFrom('audit_blacklist').select(['kind', 'value', 'unit', 'expires_at']).orderBy('kind').orderBy('value').execute()
  t.same(blocked, [
    ...[clients.aliceInternal.clientId, clients.aliceVendor.clientId].sort().map((value) => ({ kind: 'client', value, unit: null, expires_at: null })),
    { kind: 'principal', value: 'alice', unit: 'CS', expires_at: null }
  ], 'her tokens and her clients\' tokens are blacklisted')

  for (const g of [alice.active.grant, alice.suspended.grant]) {
    const row = await grantRow(h, g.id)
    t.match(row, { status: 'revoked', status_reason: /resigned/, status_changed_by: 'office-liu' })
    t.equal(row.status_changed_at?.toISOString(), body.offboardedAt, 'revoked at the moment of the offboarding')
  }
  t.match(await grantRow(h, alice.revoked.grant.id), { status: 'revoked', status_reason: 'earlier', status_changed_by: 'x' }, 'an earlier revocation stands')
  for (const g of [others.bobGrant, others.unitGrant, others.aliceLike, alice.pending, alice.filedActive]) {
    t.equal((await grantRow(h, g.grant.id)).status, 'active', `grant ${g.grant.subject ?? 'to the unit'} left alone`)
  }
  for (const r of [alice.pending, alice.approved]) {
    t.match(await requestRow(h, r.request.id), { status: 'withdrawn', decision_reason: /offboarding.*resigned/ })
  }
  t.equal((await requestRow(h, alice.rejected.request.id)).status, 'rejected')
  t.equal((await requestRow(h, alice.filedActive.request.id)).status, 'active', 'a request with a grant is not withdrawn')
  t.equal((await requestRow(h, others.bobPending.request.id)).status, 'pending_review')
  t.equal((await requestRow(h, others.aliceLike.request.id)).status, 'pending_review')
  t.equal((await h.database.db.selectFrom('agreements').select('status').where('id', '=', agreement.id).executeTakeFirstOrThrow()).status, 'void',
    'the unsigned agreement of a withdrawn request is void')

  for (const c of [clients.aliceInternal, clients.aliceVendor]) {
    t.ok((await clientRow(h, c.clientId)).disabled_at instanceof Date, 'her client is disabled')
    const view = await h.as('system_admin', { method: 'GET', url: `/api/v1/clients/${c.clientId}` })
    t.match(view.json(), { status: 'disabled', holder: 'alice' })
    const token = await h.app.inject({
      method: 'POST', url: '/api/v1/auth/token', payload: { grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret }
    })
    t.equal(token.statusCode, 401)
    t.equal(token.json().code, 'AUTH_CLIENT_INVALID', 'a disabled client gets no token')
  }
  for (const c of [clients.bob, clients.nobody]) t.equal((await clientRow(h, c.clientId)).disabled_at, null, 'other clients stay active')

  const db = h.database.db
  const [offboardEvent, ...more] = await eventsOf(db, 'principal', 'alice')
  t.equal(more.length, 0)
  t.match(offboardEvent, {
    service: 'authorization',
    action: 'principal.offboard',
    actor_sub: 'office-liu',
    details: { unit: 'CS', reason: 'resigned', exitAudit: true, confidentialityUntil: body.confidentialityUntil, revokedGrants: body.revokedGrants }
  })
  for (const id of body.revokedGrants) {
    const events = (await eventsOf(db, 'grant', id)).map((e) => e.action)
    t.same(events, ['grant.revoke'], 'one revocation event per grant')
  }
  t.match((await eventsOf(db, 'grant', alice.suspended.grant.id))[0]!.details, { cause: 'offboarding', before: { status: 'suspended' }, after: { status: 'revoked' } })
  for (const id of body.withdrawnRequests) t.same((await eventsOf(db, 'share_request', id)).map((e) => e.action), ['share_request.withdraw'])
  const clientEvents = (await eventsOf(db, 'service_client', clients.aliceVendor.clientId)).map((e) => e.action)
  t.same(clientEvents, ['client.create', 'client.disable'])
  t.same(await eventsOf(db, 'grant', others.bobGrant.grant.id), [], 'nothing recorded about others')
  t.notOk(JSON.stringify(await db.selectFrom('domain_events').select('details').execute()).includes(clients.aliceVendor.clientSecret), 'no secret in any event')

  for (const role of ['auditor', 'security_admin', 'system_admin'] as const) {
    const got = await h.as(role, { method: 'GET', url: '/api/v1/principals/alice/offboarding' })
    t.equal(got.statusCode, 200, role)
    t.same(got.json(), body, `${role} reads the record as it was answered`)
  }
  const grant = await h.as('security_admin', { method: 'GET', url: `/api/v1/grants/${alice.active.grant.id}` })
  t.match(grant.json(), { status: 'revoked', statusChangedBy: 'office-liu' }, 'the grant API shows the revocation')
})

t.test('offboarding the same person from the same unit twice is 409 and changes nothing', async (t) => {
  const h = await build(t)
  await createUnit(h, 'CS')
  await createUnit(h, 'MATH')
  const first = await offboard(h, 'alice', { unit: 'CS', reason: 'resigned' }, 'system_admin')
  t.equal(first.statusCode, 200, first.body)
  t.match(first.json(), { exitAudit: false, revokedGrants: [], withdrawnRequests: [], disabledClients: [] }, 'recorded even with nothing to revoke')

  const later = await insertGrant(h, { grant: { subject: 'alice' } })
  const events = await eventCount(h)
  const again = await offboard(h, 'alice', { unit: 'CS', reason: 'again', exitAudit: true })
  t.equal(again.statusCode, 409, again.body)
  t.equal(again.headers['content-type'], problemType)
  t.match(again.json(), { code: 'AUTHZ_ALREADY_OFFBOARDED', detail: new RegExp(`alice already left unit CS \\(offboarded at ${first.json().offboardedAt}`) })
  t.equal((await grantRow(h, later.grant.id)).status, 'active', 'the refused offboarding revoked nothing')
  t.equal(await eventCount(h), events, 'and recorded nothing')
  t.match(await offboardings(h), [{ sub: 'alice', unit_code: 'CS', reason: 'resigned', exit_audit: false }])

  // leaving another unit is another departure
  const math = await offboard(h, 'alice', { unit: 'MATH', reason: 'left the second post' })
  t.equal(math.statusCode, 200, math.body)
  t.same(math.json().revokedGrants, [later.grant.id])
  const latest = await h.as('auditor', { method: 'GET', url: '/api/v1/principals/alice/offboarding' })
  t.equal(latest.json().unit, 'MATH', 'without unit: the latest departure')
  const cs = await h.as('auditor', { method: 'GET', url: '/api/v1/principals/alice/offboarding', query: { unit: 'CS' } })
  t.same(cs.json(), first.json(), 'with unit: that departure')
  const none = await h.as('auditor', { method: 'GET', url: '/api/v1/principals/alice/offboarding', query: { unit: 'LAW' } })
  t.equal(none.statusCode, 404)
  t.equal(none.json().code, 'AUTHZ_OFFBOARDING_NOT_FOUND')
  const nobody = await h.as('auditor', { method: 'GET', url: '/api/v1/principals/carol/offboarding' })
  t.equal(nobody.statusCode, 404)
  t.match(nobody.json(), { code: 'AUTHZ_OFFBOARDING_NOT_FOUND', detail: /carol/ })
})

t.test('two offboardings of one person at once: one wins, the other is 409', async (t) => {
  const h = await build(t)
  await createUnit(h, 'CS')
  const grant = await insertGrant(h, { grant: { subject: 'alice' } })
  const results = await Promise.all([offboard(h, 'alice'), offboard(h, 'alice')])
  t.same(results.map((r) => r.statusCode).sort(), [200, 409], results.map((r) => r.body).join('\n'))
  const winner = results.find((r) => r.statusCode === 200)!.json()
  t.same(winner.revokedGrants, [grant.grant.id])
  t.equal((await offboardings(h)).length, 1)
  t.same((await eventsOf(h.database.db, 'grant', grant.grant.id)).map((e) => e.action), ['grant.revoke'], 'revoked once')
})

t.test('only system_admin and security_admin offboard; others get 403 and nothing changes', async (t) => {
  const h = await build(t)
  const { alice, clients } = await fixtures(h)
  const events = await eventCount(h)
  for (const role of ['auditor', 'steward', 'consumer', 'supervisor', 'leadership'] as const) {
    const res = await h.as(role, { method: 'POST', url: '/api/v1/principals/alice/offboard', payload: { unit: 'CS', reason: 'r' } })
    t.equal(res.statusCode, 403, role)
    t.match(res.json(), { code: 'AUTH_FORBIDDEN', detail: /system_admin, security_admin/ })
  }
  for (const role of ['steward', 'consumer', 'supervisor', 'leadership'] as const) {
    for (const url of ['/api/v1/principals/alice/offboarding', '/api/v1/principals/offboarded']) {
      t.equal((await h.as(role, { method: 'GET', url })).statusCode, 403, `${role} may not read ${url}`)
    }
  }
  t.equal((await h.app.inject({ method: 'POST', url: '/api/v1/principals/alice/offboard', payload: { unit: 'CS', reason: 'r' } })).statusCode, 401)
  t.equal((await grantRow(h, alice.active.grant.id)).status, 'active')
  t.equal((await requestRow(h, alice.pending.request.id)).status, 'pending_review')
  t.equal((await clientRow(h, clients.aliceInternal.clientId)).disabled_at, null)
  t.same(await offboardings(h), [])
  t.equal(await eventCount(h), events)
})

t.test('bad input is a 400 naming the field, and nothing changes', async (t) => {
  const h = await build(t)
  const { alice, clients } = await fixtures(h)
  const events = await eventCount(h)
  const good = { unit: 'CS', reason: 'resigned' }
  const cases: [string, string, unknown, string][] = [
    ['missing unit', 'alice', { reason: 'r' }, 'unit'],
    ['unknown unit', 'alice', { ...good, unit: 'NOPE' }, 'unit'],
    ['malformed unit', 'alice', { ...good, unit: 'C S' }, 'unit'],
    ['missing reason', 'alice', { unit: 'CS' }, 'reason'],
    ['empty reason', 'alice', { ...good, reason: '' }, 'reason'],
    ['exitAudit as text', 'alice', { ...good, exitAudit: 'yes' }, 'exitAudit'],
    ['unknown field', 'alice', { ...good, revokeAll: true }, 'revokeAll'],
    ['a service client is not a person', 'client:dgc_0000000000000000', good, 'sub'],
    ['a sub too long', 'a'.repeat(201), good, 'sub'],
    ['a sub with a space', 'alice smith', good, 'sub']
  ]
  for (const [label, sub, payload, field] of cases) {
    const res = await offboard(h, sub, payload as object)
    t.equal(res.statusCode, 400, `${label}: ${res.body}`)
    t.equal(res.headers['content-type'], problemType, label)
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
  }
  t.equal((await grantRow(h, alice.active.grant.id)).status, 'active')
  t.equal((await requestRow(h, alice.pending.request.id)).status, 'pending_review')
  t.equal((await clientRow(h, clients.aliceInternal.clientId)).disabled_at, null)
  t.same(await offboardings(h), [])
  t.equal(await eventCount(h), events, 'no event recorded')

  for (const query of ['inConfidentiality=maybe', 'limit=0', 'cursor=!!', `cursor=${Buffer.from('["x"]').toString('base64url')}`, 'other=1']) {
    const res = await h.as('auditor', { method: 'GET', url: `/api/v1/principals/offboarded?${query}` })
    t.equal(res.statusCode, 400, query)
  }
  const badUnit = await h.as('auditor', { method: 'GET', url: '/api/v1/principals/alice/offboarding?unit=a%20b' })
  t.equal(badUnit.statusCode, 400)
})

t.test('the list of departures: newest first, paginated, filtered by the confidentiality period and unit', async (t) => {
  const h = await build(t)
  await createUnit(h, 'CS')
  await createUnit(h, 'MATH')
  for (const [sub, unit] of [['ann', 'CS'], ['ben', 'MATH'], ['cat', 'CS']]) t.equal((await offboard(h, sub!, { unit, reason: 'left' })).statusCode, 200)
  // ann left two years ago: her period is over
  const anyDb = h.database.db as unknown as Kysely<any>
  await anyDb.updateTable('offboardings').where('sub', '=', 'ann')
    .set({ offboarded_at: new Date(Date.now() - 2 * 365 * 86_400_000), confidentiality_until: new Date(Date.now() - 365 * 86_400_000) }).execute()

  const list = async (query: Record<string, string> = {}) => {
    const res = await h.as('auditor', { method: 'GET', url: '/api/v1/principals/offboarded', query })
    t.equal(res.statusCode, 200, res.body)
    return res.json() as { data: { sub: string, inConfidentiality: boolean }[], nextCursor: string | null }
  }
  const all = await list()
  t.same(all.data.map((o) => o.sub), ['cat', 'ben', 'ann'], 'newest first')
  t.same(all.data.map((o) => o.inConfidentiality), [true, true, false])
  t.equal(all.nextCursor, null)
  t.same((await list({ inConfidentiality: 'true' })).data.map((o) => o.sub), ['cat', 'ben'])
  t.same((await list({ inConfidentiality: 'false' })).data.map((o) => o.sub), ['ann'])
  t.same((await list({ unit: 'CS' })).data.map((o) => o.sub), ['cat', 'ann'])
  t.same((await list({ unit: 'CS', inConfidentiality: 'true' })).data.map((o) => o.sub), ['cat'])

  const first = await list({ limit: '2' })
  t.same(first.data.map((o) => o.sub), ['cat', 'ben'])
  t.ok(first.nextCursor)
  const second = await list({ limit: '2', cursor: first.nextCursor! })
  t.same(second.data.map((o) => o.sub), ['ann'])
  t.equal(second.nextCursor, null)
})
