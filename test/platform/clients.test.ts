import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { verifySecret } from '../../src/platform/crypto.js'
import { eventsOf } from '../../src/platform/events.js'
import { build, createUnit, type TestApp } from '../helpers/build.js'
import { TEST_DATABASE_URL } from '../helpers/database.js'

const problemType = 'application/problem+json; charset=utf-8'
const OTHER_ROLES = ['security_admin', 'auditor', 'steward', 'consumer', 'supervisor', 'leadership'] as const

interface Created {
  clientId: string
  clientSecret: string
  name: string
  unit: string
  roles: string[]
  status: string
  createdBy: string
  createdAt: string
  lastUsedAt: string | null
  kind: 'internal' | 'vendor'
  vendor: null | { name: string, agreement: { reference: string, signer: string, signedAt: string, expiresAt: string, expired: boolean } }
  holder: string | null
  allowedAddresses: string[]
}

/** A route that answers who the caller is, to see what a token turns into. */
const whoami = (app: FastifyInstance) => {
  app.get('/api/v1/test-whoami', { config: { access: 'authenticated' } }, async (request) => request.principal)
}

async function createClient (h: TestApp, body: object = { name: 'student affairs system', unit: 'SA', roles: ['steward'] }): Promise<Created> {
  const res = await h.as('system_admin', { method: 'POST', url: '/api/v1/clients', payload: body }, { sub: 'admin-li' })
  if (res.statusCode !== 201) throw new Error(`creating a client: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function tokenRequest (h: TestApp, request: { form?: Record<string, string>, json?: object, basic?: [string, string] | string }) {
  const headers: Record<string, string> = {}
  if (request.basic !== undefined) {
    headers.authorization = `Basic ${typeof request.basic === 'string'
      ? request.basic
      : Buffer.from(`${encodeURIComponent(request.basic[0])}:${encodeURIComponent(request.basic[1])}`).toString('base64')}`
  }
  if (request.json !== undefined) {
    return await h.app.inject({ method: 'POST', url: '/api/v1/auth/token', headers, payload: request.json })
  }
  headers['content-type'] = 'application/x-www-form-urlencoded'
  return await h.app.inject({ method: 'POST', url: '/api/v1/auth/token', headers, payload: new URLSearchParams(request.form ?? {}).toString() })
}

function claimsOf (token: string) {
  const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part!, 'base64url').toString()))
  return { header, payload }
}

async function storedClients (h: TestApp) {
  return await h.database.db.selectFrom('service_clients').selectAll().orderBy('client_id').execute()
}

t.test('system_admin registers a client: the secret is shown once and stored only as an scrypt hash', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const res = await h.as('system_admin', {
    method: 'POST', url: '/api/v1/clients', payload: { name: 'student affairs system', unit: 'SA', roles: ['steward', 'consumer'] }
  }, { sub: 'admin-li' })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.headers['cache-control'], 'no-store', 'a response holding a secret is never cached')
  const created: Created = res.json()
  t.match(created, {
    clientId: /^dgc_[A-Za-z0-9_-]{16,64}$/,
    name: 'student affairs system',
    unit: 'SA',
    roles: ['steward', 'consumer'],
    status: 'active',
    createdBy: 'admin-li',
    lastUsedAt: null,
    kind: 'internal',
    vendor: null,
    holder: null
  })
  t.ok(Math.abs(Date.parse(created.createdAt) - Date.now()) < 60_000, 'createdAt is now')
  t.match(created.clientSecret, /^[A-Za-z0-9_-]{43,}$/, 'a 256-bit secret')

  const rows = await storedClients(h)
  t.equal(rows.length, 1)
  const row = rows[0]!
  t.equal(row.client_id, created.clientId)
  t.match(row.secret_hash, /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/)
  t.notOk(row.secret_hash.includes(created.clientSecret), 'the hash does not hold the secret')
  t.notOk(JSON.stringify(row).includes(created.clientSecret), 'no column holds the secret')
  t.ok(await verifySecret(created.clientSecret, row.secret_hash), 'the hash is of this secret')
  t.notOk(await verifySecret(`${created.clientSecret}x`, row.secret_hash))

  const got = await h.as('system_admin', { method: 'GET', url: `/api/v1/clients/${created.clientId}` })
  t.equal(got.statusCode, 200)
  const { clientSecret, ...view } = created
  t.same(got.json(), view, 'reading it again shows everything but the secret')
  t.notOk(got.body.includes(clientSecret))
  t.notOk(got.body.includes('scrypt'), 'nor its hash')
  const list = await h.as('system_admin', { method: 'GET', url: '/api/v1/clients' })
  t.same(list.json(), { data: [view], nextCursor: null })
  t.notOk(list.body.includes(clientSecret))

  const second = await createClient(h)
  t.not(second.clientId, created.clientId)
  t.not(second.clientSecret, created.clientSecret)
  const [a, b] = await storedClients(h)
  t.not(a!.secret_hash.split('$')[4], b!.secret_hash.split('$')[4], 'each hash has its own salt')
})

t.test('only system_admin manages clients; every other role is 403 and changes nothing', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const client = await createClient(h)
  for (const role of OTHER_ROLES) {
    const requests = [
      { method: 'POST', url: '/api/v1/clients', payload: { name: 'other', unit: 'SA', roles: ['consumer'] } },
      { method: 'GET', url: '/api/v1/clients' },
      { method: 'GET', url: `/api/v1/clients/${client.clientId}` },
      { method: 'POST', url: `/api/v1/clients/${client.clientId}/disable` },
      { method: 'PUT', url: `/api/v1/clients/${client.clientId}/agreement`, payload: { reference: 'C', signer: 'S', signedAt: '2026-01-01T00:00:00Z', expiresAt: '2099-01-01T00:00:00Z' } }
    ] as const
    for (const request of requests) {
      const res = await h.as(role, request)
      t.equal(res.statusCode, 403, `${role} may not ${request.method} ${request.url}`)
      t.equal(res.headers['content-type'], problemType)
      t.match(res.json(), { code: 'AUTH_FORBIDDEN', detail: /system_admin/ })
    }
  }
  const anonymous = await h.app.inject({ method: 'GET', url: '/api/v1/clients' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'AUTH_TOKEN_MISSING')

  const rows = await storedClients(h)
  t.equal(rows.length, 1, 'no client was added')
  t.equal(rows[0]!.disabled_at, null, 'the client was not disabled')
})

t.test('bad input is a 400 naming the field, and nothing is written', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const good = { name: 'system', unit: 'SA', roles: ['consumer'] }
  const cases: [string, unknown, RegExp][] = [
    ['unknown unit', { ...good, unit: 'NOPE' }, /^unit$/],
    ['malformed unit', { ...good, unit: 'a b' }, /^unit$/],
    ['system_admin for a machine', { ...good, roles: ['system_admin'] }, /^roles(\.0)?$/],
    ['security_admin for a machine', { ...good, roles: ['consumer', 'security_admin'] }, /^roles(\.1)?$/],
    ['auditor for a machine', { ...good, roles: ['auditor'] }, /^roles(\.0)?$/],
    ['leadership for a machine', { ...good, roles: ['leadership'] }, /^roles(\.0)?$/],
    ['unknown role', { ...good, roles: ['root'] }, /^roles(\.0)?$/],
    ['no roles', { ...good, roles: [] }, /^roles$/],
    ['repeated role', { ...good, roles: ['consumer', 'consumer'] }, /^roles$/],
    ['roles a string', { ...good, roles: 'consumer' }, /^roles$/],
    ['missing name', { unit: 'SA', roles: ['consumer'] }, /^name$/],
    ['empty name', { ...good, name: '' }, /^name$/],
    ['missing unit', { name: 'x', roles: ['consumer'] }, /^unit$/],
    ['unknown field', { ...good, secret: 'mine' }, /^secret$/],
    ['client id chosen by the caller', { ...good, clientId: 'dgc_mine00000000000000' }, /^clientId$/]
  ]
  for (const [label, payload, field] of cases) {
    const res = await h.as('system_admin', { method: 'POST', url: '/api/v1/clients', payload: payload as object })
    t.equal(res.statusCode, 400, `${label}: ${res.body}`)
    t.equal(res.headers['content-type'], problemType)
    const body = res.json()
    t.equal(body.code, 'VALIDATION_FAILED', label)
    t.ok(body.errors?.some((e: { field: string }) => field.test(e.field)), `${label} names ${field}: ${JSON.stringify(body.errors)}`)
  }
  t.same(await storedClients(h), [], 'nothing was written')

  const badId = await h.as('system_admin', { method: 'GET', url: '/api/v1/clients/not-a-client-id' })
  t.equal(badId.statusCode, 400)
  t.equal(badId.json().errors[0].field, 'clientId')
  const unknown = await h.as('system_admin', { method: 'GET', url: '/api/v1/clients/dgc_0000000000000000' })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { code: 'NOT_FOUND', detail: /dgc_0000000000000000/ })
  const disableUnknown = await h.as('system_admin', { method: 'POST', url: '/api/v1/clients/dgc_0000000000000000/disable' })
  t.equal(disableUnknown.statusCode, 404)
})

t.test('the client list is cursor-paginated', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  await createUnit(h, 'CS')
  const created: string[] = []
  for (let i = 0; i < 5; i++) created.push((await createClient(h, { name: `system ${i}`, unit: i % 2 ? 'SA' : 'CS', roles: ['consumer'] })).clientId)

  const all = await h.as('system_admin', { method: 'GET', url: '/api/v1/clients' })
  t.equal(all.statusCode, 200)
  const order: string[] = all.json().data.map((c: { clientId: string }) => c.clientId)
  t.same([...order].sort(), [...created].sort(), 'every client is listed once')
  t.equal(all.json().nextCursor, null)

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await h.as('system_admin', { method: 'GET', url: '/api/v1/clients', query: { limit: '2', ...(cursor ? { cursor } : {}) } })
    t.equal(res.statusCode, 200)
    const data = res.json().data
    t.ok(data.length <= 2)
    seen.push(...data.map((c: { clientId: string }) => c.clientId))
    cursor = res.json().nextCursor
    pages++
  } while (cursor && pages < 10)
  t.same(seen, order, 'the pages, joined, are the list in its order')
  t.equal(pages, 3)

  for (const query of ['limit=0', 'limit=201', 'limit=abc', 'cursor=!!', 'cursor=bm90LWpzb24', 'other=1']) {
    const res = await h.as('system_admin', { method: 'GET', url: `/api/v1/clients?${query}` })
    t.equal(res.statusCode, 400, query)
    t.equal(res.headers['content-type'], problemType)
  }
})

t.test('the client-credentials grant: form, JSON and HTTP Basic', async (t) => {
  const h = await build(t, { extend: whoami })
  await createUnit(h, 'SA')
  const client = await createClient(h, { name: 'student affairs system', unit: 'SA', roles: ['steward', 'consumer'] })
  const { clientId: id, clientSecret: secret } = client

  const ways = {
    form: { form: { grant_type: 'client_credentials', client_id: id, client_secret: secret } },
    json: { json: { grant_type: 'client_credentials', client_id: id, client_secret: secret } },
    basic: { basic: [id, secret] as [string, string], form: { grant_type: 'client_credentials' } },
    'basic with scope': { basic: [id, secret] as [string, string], form: { grant_type: 'client_credentials', scope: 'ignored' } }
  }
  for (const [way, request] of Object.entries(ways)) {
    const before = Math.floor(Date.now() / 1000)
    const res = await tokenRequest(h, request)
    t.equal(res.statusCode, 200, `${way}: ${res.body}`)
    t.equal(res.headers['cache-control'], 'no-store', `${way}: cache-control: no-store (RFC 6749 §5.1)`)
    t.match(res.headers['content-type'], /^application\/json/)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type'])
    t.equal(body.token_type, 'Bearer')
    t.equal(body.expires_in, h.config.CLIENT_TOKEN_TTL_S)

    const { header, payload } = claimsOf(body.access_token)
    t.match(header, { alg: h.key.algorithm, kid: h.key.kid }, way)
    t.match(payload, {
      iss: h.config.JWT_ISSUER,
      aud: h.config.JWT_AUDIENCE,
      sub: `client:${id}`,
      unit: 'SA',
      roles: ['steward', 'consumer'],
      client: id,
      jti: /^[0-9a-f-]{36}$/
    }, way)
    t.equal(payload.exp - payload.iat, h.config.CLIENT_TOKEN_TTL_S)
    t.ok(payload.iat >= before - 1 && payload.iat <= before + 60)

    const units = await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${body.access_token}` } })
    t.equal(units.statusCode, 200, `${way}: the token works`)
    t.same(units.json().data.map((u: { code: string }) => u.code), ['SA'])
    const me = await h.app.inject({ method: 'GET', url: '/api/v1/test-whoami', headers: { authorization: `Bearer ${body.access_token}` } })
    t.same(me.json(), { sub: `client:${id}`, unit: 'SA', roles: ['steward', 'consumer'], client: id, tokenId: payload.jti }, `${way}: the principal`)
    const write = await h.app.inject({
      method: 'POST',
      url: '/api/v1/units',
      headers: { authorization: `Bearer ${body.access_token}` },
      payload: { code: 'X', name: 'x', officer: { name: 'n', contact: 'c' } }
    })
    t.equal(write.statusCode, 403, `${way}: the token carries only the client's roles`)
  }

  const after = await h.as('system_admin', { method: 'GET', url: `/api/v1/clients/${id}` })
  t.ok(after.json().lastUsedAt, 'lastUsedAt is set')
  t.ok(Date.parse(after.json().lastUsedAt) >= Date.parse(client.createdAt))
})

t.test('wrong, unknown and disabled clients get the same 401', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const client = await createClient(h)
  const other = await createClient(h, { name: 'other', unit: 'SA', roles: ['consumer'] })
  const grant = (clientId: string, clientSecret: string) => ({ form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } })

  const issued = await tokenRequest(h, grant(client.clientId, client.clientSecret))
  t.equal(issued.statusCode, 200)
  const earlier = issued.json().access_token

  const disabled = await h.as('system_admin', { method: 'POST', url: `/api/v1/clients/${client.clientId}/disable` })
  t.equal(disabled.statusCode, 200)
  t.equal(disabled.json().status, 'disabled')
  const again = await h.as('system_admin', { method: 'POST', url: `/api/v1/clients/${client.clientId}/disable` })
  t.equal(again.statusCode, 200, 'disabling twice is harmless')
  t.equal(again.json().status, 'disabled')
  const [row] = (await storedClients(h)).filter((r) => r.client_id === client.clientId)
  t.ok(row!.disabled_at instanceof Date)
  const listed = await h.as('system_admin', { method: 'GET', url: `/api/v1/clients/${client.clientId}` })
  t.equal(listed.json().status, 'disabled')

  const cases: [string, Parameters<typeof tokenRequest>[1]][] = [
    ['wrong secret', grant(other.clientId, `${other.clientSecret.startsWith('A') ? 'B' : 'A'}${other.clientSecret.slice(1)}`)],
    ['another client\'s secret', grant(other.clientId, client.clientSecret)],
    ['unknown client', grant('dgc_0000000000000000', other.clientSecret)],
    ['disabled client with its right secret', grant(client.clientId, client.clientSecret)],
    ['wrong secret in Basic', { basic: [other.clientId, 'wrong'], form: { grant_type: 'client_credentials' } }],
    ['disabled client in Basic', { basic: [client.clientId, client.clientSecret], form: { grant_type: 'client_credentials' } }],
    ['Basic without a colon', { basic: Buffer.from(other.clientId).toString('base64'), form: { grant_type: 'client_credentials' } }],
    ['Basic with an empty id', { basic: Buffer.from(`:${other.clientSecret}`).toString('base64'), form: { grant_type: 'client_credentials' } }],
    ['Basic, JSON body', { basic: [other.clientId, 'wrong'], json: { grant_type: 'client_credentials' } }]
  ]
  const details = new Set<string>()
  for (const [label, request] of cases) {
    const res = await tokenRequest(h, request)
    t.equal(res.statusCode, 401, `${label}: ${res.body}`)
    t.equal(res.headers['content-type'], problemType, label)
    t.equal(res.json().code, 'AUTH_CLIENT_INVALID', label)
    t.notOk(res.body.includes('access_token'), label)
    details.add(res.json().detail)
  }
  t.equal(details.size, 1, 'the caller cannot tell which part was wrong')

  // RFC 6749 leaves tokens already issued to the server: they live until they expire (documented)
  const earlierUse = await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${earlier}` } })
  t.equal(earlierUse.statusCode, 200, 'a token issued before disabling lives out its short life')

  const stillOk = await tokenRequest(h, grant(other.clientId, other.clientSecret))
  t.equal(stillOk.statusCode, 200, 'the other client is unaffected')
})

t.test('a malformed token request is a 400 naming the field', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const { clientId: id, clientSecret: secret } = await createClient(h)
  const cases: [string, Parameters<typeof tokenRequest>[1], string][] = [
    ['missing grant_type', { form: { client_id: id, client_secret: secret } }, 'grant_type'],
    ['password grant', { form: { grant_type: 'password', client_id: id, client_secret: secret } }, 'grant_type'],
    ['authorization_code grant', { json: { grant_type: 'authorization_code', client_id: id, client_secret: secret } }, 'grant_type'],
    ['missing grant_type in Basic', { basic: [id, secret], form: {} }, 'grant_type'],
    ['missing client_id', { form: { grant_type: 'client_credentials', client_secret: secret } }, 'client_id'],
    ['missing client_secret', { form: { grant_type: 'client_credentials', client_id: id } }, 'client_secret'],
    ['empty client_secret', { form: { grant_type: 'client_credentials', client_id: id, client_secret: '' } }, 'client_secret'],
    ['client_secret a number', { json: { grant_type: 'client_credentials', client_id: id, client_secret: 12 } }, 'client_secret'],
    ['unknown field', { form: { grant_type: 'client_credentials', client_id: id, client_secret: secret, username: 'u' } }, 'username'],
    ['credentials both in Basic and in the body', { basic: [id, secret], form: { grant_type: 'client_credentials', client_id: id, client_secret: secret } }, 'client_secret']
  ]
  for (const [label, request, field] of cases) {
    const res = await tokenRequest(h, request)
    t.equal(res.statusCode, 400, `${label}: ${res.body}`)
    t.equal(res.headers['content-type'], problemType, label)
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
    t.notOk(res.body.includes('access_token'), label)
  }
  const xml = await h.app.inject({ method: 'POST', url: '/api/v1/auth/token', headers: { 'content-type': 'application/xml' }, payload: '<grant/>' })
  t.equal(xml.statusCode, 415)
  const rows = await storedClients(h)
  t.equal(rows[0]!.last_used_at, null, 'no request got as far as issuing a token')
})

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString()
const DAY = 86_400_000
const agreement = (over: object = {}) => ({ reference: 'CONF-2026-017', signer: 'Wang Fang', signedAt: inMs(-30 * DAY), expiresAt: inMs(365 * DAY), ...over })
const vendorBody = (over: object = {}, agreementOver: object = {}) => ({
  name: 'card maintenance',
  unit: 'SA',
  roles: ['consumer'],
  kind: 'vendor',
  holder: 'zhang.wei',
  vendor: { name: 'Example Technology Co.', agreement: agreement(agreementOver) },
  ...over
})
const clientCredentials = (c: { clientId: string, clientSecret: string }) =>
  ({ form: { grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret } })

t.test('a vendor client is registered only with a running confidentiality agreement; views show kind, vendor and holder', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const body = vendorBody()
  const created = await createClient(h, body)
  t.match(created, {
    kind: 'vendor',
    holder: 'zhang.wei',
    status: 'active',
    vendor: {
      name: 'Example Technology Co.',
      agreement: {
        reference: 'CONF-2026-017',
        signer: 'Wang Fang',
        signedAt: body.vendor.agreement.signedAt,
        expiresAt: body.vendor.agreement.expiresAt,
        expired: false,
        recordedBy: 'admin-li'
      }
    }
  })
  const { clientSecret, ...view } = created
  t.same((await h.as('system_admin', { method: 'GET', url: `/api/v1/clients/${created.clientId}` })).json(), view)
  t.same((await h.as('system_admin', { method: 'GET', url: '/api/v1/clients' })).json().data, [view])

  const inferred = await createClient(h, { ...vendorBody(), kind: undefined })
  t.equal(inferred.kind, 'vendor', 'a client with a vendor is a vendor client')
  const internal = await createClient(h, { name: 'internal', unit: 'SA', roles: ['consumer'], holder: 'li.na' })
  t.match(internal, { kind: 'internal', vendor: null, holder: 'li.na' })

  const [event] = await eventsOf(h.database.db, 'service_client', created.clientId)
  t.match(event, { service: 'platform', action: 'client.create', actor_sub: 'admin-li', details: { vendor: 'Example Technology Co.', agreement: { reference: 'CONF-2026-017' } } })
  t.notOk(JSON.stringify(event).includes(clientSecret), 'the event holds no secret')
  const stored = await storedClients(h)

  const cases: [string, object, string][] = [
    ['vendor kind without vendor', { ...vendorBody(), vendor: undefined }, 'vendor'],
    ['internal kind with a vendor', vendorBody({ kind: 'internal' }), 'vendor'],
    ['an expired agreement', vendorBody({}, { expiresAt: inMs(-DAY) }), 'vendor.agreement.expiresAt'],
    ['an agreement ending now', vendorBody({}, { expiresAt: inMs(-1000) }), 'vendor.agreement.expiresAt'],
    ['an agreement not signed yet', vendorBody({}, { signedAt: inMs(DAY) }), 'vendor.agreement.signedAt'],
    ['expiry before signature', vendorBody({}, { signedAt: inMs(-DAY), expiresAt: inMs(-2 * DAY) }), 'vendor.agreement.expiresAt'],
    ['no agreement', vendorBody({ vendor: { name: 'X' } }), 'vendor.agreement'],
    ['no provider name', vendorBody({ vendor: { agreement: agreement() } }), 'vendor.name'],
    ['no reference', vendorBody({}, { reference: undefined }), 'vendor.agreement.reference'],
    ['empty signer', vendorBody({}, { signer: '' }), 'vendor.agreement.signer'],
    ['expiry not a date-time', vendorBody({}, { expiresAt: 'next year' }), 'vendor.agreement.expiresAt'],
    ['unknown agreement field', vendorBody({}, { secret: 'x' }), 'vendor.agreement.secret'],
    ['unknown kind', vendorBody({ kind: 'outsourced' }), 'kind'],
    ['a service client as holder', vendorBody({ holder: 'client:dgc_0000000000000000' }), 'holder'],
    ['a holder with a space', vendorBody({ holder: 'zhang wei' }), 'holder']
  ]
  for (const [label, payload, field] of cases) {
    const res = await h.as('system_admin', { method: 'POST', url: '/api/v1/clients', payload })
    t.equal(res.statusCode, 400, `${label}: ${res.body}`)
    t.equal(res.headers['content-type'], problemType, label)
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
  }
  t.same(await storedClients(h), stored, 'nothing was written')
})

t.test('a vendor token never outlives the agreement', async (t) => {
  const h = await build(t, { extend: whoami })
  await createUnit(h, 'SA')
  const ttl = h.config.CLIENT_TOKEN_TTL_S
  const expiresAt = inMs(10 * 60_000) // ten minutes, well within one token lifetime
  t.ok(ttl > 600, 'the configured lifetime is longer than what is left of the agreement')
  const soon = await createClient(h, vendorBody({}, { expiresAt }))
  const res = await tokenRequest(h, clientCredentials(soon))
  t.equal(res.statusCode, 200, res.body)
  const { payload } = claimsOf(res.json().access_token)
  t.ok(payload.exp <= Math.floor(Date.parse(expiresAt) / 1000), `exp ${payload.exp} is not after the agreement's expiry`)
  t.ok(payload.exp >= Math.floor(Date.parse(expiresAt) / 1000) - 60, 'and close to it')
  t.equal(res.json().expires_in, payload.exp - payload.iat, 'expires_in says the capped lifetime')
  t.ok(res.json().expires_in <= 600)
  const me = await h.app.inject({ method: 'GET', url: '/api/v1/test-whoami', headers: { authorization: `Bearer ${res.json().access_token}` } })
  t.match(me.json(), { sub: `client:${soon.clientId}`, client: soon.clientId }, 'the token works')

  const later = await createClient(h, vendorBody())
  const full = await tokenRequest(h, clientCredentials(later))
  t.equal(full.json().expires_in, ttl, 'an agreement running longer than a token does not shorten it')
  const internal = await createClient(h)
  t.equal((await tokenRequest(h, clientCredentials(internal))).json().expires_in, ttl)
})

t.test('an expired agreement stops the tokens; a recorded renewal takes effect for new ones', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const vendor = await createClient(h, vendorBody())
  const other = await createClient(h, vendorBody({ name: 'other vendor' }))
  const internal = await createClient(h)
  t.equal((await tokenRequest(h, clientCredentials(vendor))).statusCode, 200)

  // the agreement ran out yesterday
  const signedAt = new Date(Date.now() - 400 * DAY)
  await h.database.db.updateTable('service_clients').where('client_id', '=', vendor.clientId)
    .set({ agreement_signed_at: signedAt, agreement_expires_at: new Date(Date.now() - DAY) }).execute()
  const refused = await tokenRequest(h, clientCredentials(vendor))
  t.equal(refused.statusCode, 401, refused.body)
  t.equal(refused.headers['content-type'], problemType)
  t.match(refused.json(), { code: 'AUTH_VENDOR_AGREEMENT_EXPIRED', detail: /confidentiality agreement/ })
  t.notOk(refused.body.includes('access_token'))
  const wrong = await tokenRequest(h, clientCredentials({ clientId: vendor.clientId, clientSecret: other.clientSecret }))
  t.equal(wrong.json().code, 'AUTH_CLIENT_INVALID', 'without its secret, nobody learns the agreement expired')
  const viewed = await h.as('system_admin', { method: 'GET', url: `/api/v1/clients/${vendor.clientId}` })
  t.match(viewed.json(), { status: 'active', vendor: { agreement: { expired: true } } })
  t.equal((await tokenRequest(h, clientCredentials(other))).statusCode, 200, 'another vendor is unaffected')

  const renew = async (clientId: string, payload: object, sub = 'admin-wu') =>
    await h.as('system_admin', { method: 'PUT', url: `/api/v1/clients/${clientId}/agreement`, payload }, { sub })
  const bad: [string, object, string][] = [
    ['expired', agreement({ expiresAt: inMs(-60_000) }), 'expiresAt'],
    ['not signed yet', agreement({ signedAt: inMs(DAY) }), 'signedAt'],
    ['missing signer', { ...agreement(), signer: undefined }, 'signer'],
    ['unknown field', { ...agreement(), name: 'renamed' }, 'name']
  ]
  for (const [label, payload, field] of bad) {
    const res = await renew(vendor.clientId, payload)
    t.equal(res.statusCode, 400, `${label}: ${res.body}`)
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
  }
  const notVendor = await renew(internal.clientId, agreement())
  t.equal(notVendor.statusCode, 409)
  t.equal(notVendor.json().code, 'CLIENT_NOT_VENDOR')
  t.equal((await renew('dgc_0000000000000000', agreement())).statusCode, 404)
  t.equal((await tokenRequest(h, clientCredentials(vendor))).statusCode, 401, 'refused renewals changed nothing')

  const renewed = agreement({ reference: 'CONF-2027-031', expiresAt: inMs(2 * 60_000) })
  const res = await renew(vendor.clientId, renewed)
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), {
    clientId: vendor.clientId,
    vendor: { agreement: { reference: 'CONF-2027-031', signedAt: renewed.signedAt, expiresAt: renewed.expiresAt, expired: false, recordedBy: 'admin-wu' } }
  })
  t.notOk(res.body.includes(vendor.clientSecret))
  const token = await tokenRequest(h, clientCredentials(vendor))
  t.equal(token.statusCode, 200, 'the renewal lets the client in again')
  t.ok(claimsOf(token.json().access_token).payload.exp <= Math.floor(Date.parse(renewed.expiresAt) / 1000), 'under the renewed agreement\'s expiry')

  const events = (await eventsOf(h.database.db, 'service_client', vendor.clientId)).filter((e) => e.action === 'client.agreement')
  t.equal(events.length, 1, 'one renewal recorded')
  t.match(events[0], {
    service: 'platform',
    actor_sub: 'admin-wu',
    details: {
      before: { reference: 'CONF-2026-017', signedAt: signedAt.toISOString() },
      after: { reference: 'CONF-2027-031', expiresAt: renewed.expiresAt }
    }
  })

  // a disabled vendor client stays disabled whatever its agreement
  t.equal((await h.as('system_admin', { method: 'POST', url: `/api/v1/clients/${vendor.clientId}/disable` })).statusCode, 200)
  t.equal((await renew(vendor.clientId, agreement({ reference: 'CONF-2027-032' }))).statusCode, 200)
  t.equal((await tokenRequest(h, clientCredentials(vendor))).json().code, 'AUTH_CLIENT_INVALID')
  t.same((await eventsOf(h.database.db, 'service_client', vendor.clientId)).map((e) => e.action),
    ['client.create', 'client.agreement', 'client.disable', 'client.agreement'])
})

t.test('a blacklisted client gets no new token', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const { clientId: id, clientSecret: secret } = await createClient(h)
  const form = { grant_type: 'client_credentials', client_id: id, client_secret: secret }
  t.equal((await tokenRequest(h, { form })).statusCode, 200)
  const block = await h.as('security_admin', { method: 'POST', url: '/api/v1/audit/blacklist', payload: { kind: 'client', value: id, reason: 'leaked secret' } }, { sub: 'office-liu' })
  t.equal(block.statusCode, 201, block.body)
  const refused = await tokenRequest(h, { form })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'AUTH_BLOCKED')
  t.notMatch(refused.body, /leaked secret/, 'the reason stays with the office')
})

t.test('a client is handed to another holder; offboarding then follows the new one', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const client = await createClient(h, { name: 'library gate', unit: 'SA', roles: ['consumer'], holder: 'zhang.wei' })
  const url = `/api/v1/clients/${client.clientId}/holder`
  t.equal((await h.as('security_admin', { method: 'PUT', url, payload: { holder: 'li.na' } })).statusCode, 403)
  const bad = await h.as('system_admin', { method: 'PUT', url, payload: { holder: '' } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().errors, [{ field: 'holder' }])
  t.equal((await h.as('system_admin', { method: 'PUT', url: '/api/v1/clients/dgc_nope0000000000000/holder', payload: { holder: 'li.na' } })).statusCode, 404)
  const moved = await h.as('system_admin', { method: 'PUT', url, payload: { holder: 'li.na' } }, { sub: 'admin-li' })
  t.equal(moved.statusCode, 200)
  t.equal(moved.json().holder, 'li.na')
  const events = await eventsOf(h.database.db, 'service_client', client.clientId)
  t.match(events.at(-1), { action: 'client.holder', actor_sub: 'admin-li', details: { before: { holder: 'zhang.wei' }, after: { holder: 'li.na' } } })

  const offboard = async (sub: string) => await h.as('system_admin', { method: 'POST', url: `/api/v1/principals/${sub}/offboard`, payload: { unit: 'SA', reason: 'left' } })
  t.same((await offboard('zhang.wei')).json().disabledClients, [], 'the former holder no longer takes the client with them')
  t.same((await offboard('li.na')).json().disabledClients, [client.clientId])
})

t.test('terminal control: a client\'s tokens, and the token endpoint for it, only from its registered addresses', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const at = (remoteAddress: string, extra: object = {}) => ({ remoteAddress, ...extra })
  const asAdmin = async (method: 'POST' | 'PATCH', url: string, payload: object) =>
    await h.as('system_admin', { method, url, payload }, { sub: 'admin-li' })
  const count = async () => (await storedClients(h)).length

  // validated: a bad entry is a 400 naming it, and nothing is written
  const bad: [object, string][] = [
    [{ allowedAddresses: ['10.0.0.0/8', 'gate.example.edu.cn'] }, 'allowedAddresses.1'],
    [{ allowedAddresses: ['10.0.0.0/33'] }, 'allowedAddresses.0'],
    [{ allowedAddresses: ['fe80::1%eth0'] }, 'allowedAddresses.0'],
    [{ allowedAddresses: [''] }, 'allowedAddresses.0'],
    [{ allowedAddresses: Array.from({ length: 65 }, (_, i) => `10.0.0.${i}`) }, 'allowedAddresses'],
    [{ allowedAddresses: '10.0.0.0/8' }, 'allowedAddresses']
  ]
  for (const [body, field] of bad) {
    const res = await asAdmin('POST', '/api/v1/clients', { name: 'gate', unit: 'SA', roles: ['consumer'], ...body })
    t.equal(res.statusCode, 400, res.body)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === field), `names ${field}: ${res.body}`)
  }
  t.equal(await count(), 0)

  // stored canonical, each once, and shown in the view
  const created = await createClient(h, {
    name: 'one-card gate', unit: 'SA', roles: ['consumer'], allowedAddresses: ['10.20.0.0/16', ' 2001:DB8:0:0::7 ', '10.20.0.0/16', '192.168.1.7/32']
  })
  t.same(created.allowedAddresses, ['10.20.0.0/16', '2001:db8::7', '192.168.1.7'])
  t.same((await h.as('system_admin', { method: 'GET', url: `/api/v1/clients/${created.clientId}` })).json().allowedAddresses, created.allowedAddresses)
  const form = { grant_type: 'client_credentials', client_id: created.clientId, client_secret: created.clientSecret }
  const tokenFrom = async (remoteAddress: string, secret = created.clientSecret) => await h.app.inject({
    method: 'POST', url: '/api/v1/auth/token', ...at(remoteAddress), payload: { ...form, client_secret: secret }
  })

  // the token endpoint
  for (const ip of ['10.20.5.5', '::ffff:10.20.1.1', '2001:db8::7', '192.168.1.7']) t.equal((await tokenFrom(ip)).statusCode, 200, `from ${ip}`)
  const elsewhere = await tokenFrom('10.21.0.1')
  t.equal(elsewhere.statusCode, 403, elsewhere.body)
  t.match(elsewhere.json(), { code: 'AUTH_ADDRESS_NOT_ALLOWED', detail: /registered addresses/ })
  t.notOk(elsewhere.json().access_token)
  t.equal((await tokenFrom('10.21.0.1', 'wrong')).statusCode, 401, 'a wrong secret learns nothing about the addresses')

  // its tokens
  const token = (await tokenFrom('10.20.5.5')).json().access_token as string
  const use = async (ip: string, app = h.app, extra: object = {}) =>
    await app.inject({ method: 'GET', url: '/api/v1/units', ...at(ip, extra), headers: { authorization: `Bearer ${token}` } })
  t.equal((await use('10.20.9.9')).statusCode, 200)
  const stolen = await use('172.16.0.1')
  t.equal(stolen.statusCode, 403)
  t.equal(stolen.json().code, 'AUTH_ADDRESS_NOT_ALLOWED')
  t.equal((await h.as('consumer', { method: 'GET', url: '/api/v1/units', ...at('172.16.0.1') }, { unit: 'SA', sub: 'zhang.wei' })).statusCode, 200,
    'a person\'s token is not bound to a terminal')

  // both refusals are audited as denials
  const denied = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events?action=denied&limit=200' })).json().data as Record<string, any>[]
  t.match(denied.find((e) => e.requestId === elsewhere.json().requestId), { outcome: 'denied', actor: { ip: '10.21.0.1' }, details: { status: 403, route: '/api/v1/auth/token', code: 'AUTH_ADDRESS_NOT_ALLOWED' } })
  t.match(denied.find((e) => e.requestId === stolen.json().requestId), { actor: { sub: `client:${created.clientId}`, client: created.clientId, ip: '172.16.0.1' }, details: { status: 403, code: 'AUTH_ADDRESS_NOT_ALLOWED' } })
  t.notOk((await h.as('auditor', { method: 'GET', url: '/api/v1/principals?unit=SA&role=consumer' })).json().data
    .some((p: { client: string | null, uses: number }) => p.client === created.clientId && p.uses > 1), 'a refused use is not an accepted one')

  // update: validated, audited, applied by this process at once, and by another one on its next reload
  const url = `/api/v1/clients/${created.clientId}`
  const badUpdate = await asAdmin('PATCH', url, { allowedAddresses: ['172.16.0.0/12', '300.1.1.1'] })
  t.equal(badUpdate.statusCode, 400)
  t.match(badUpdate.json().errors, [{ field: 'allowedAddresses.1' }])
  t.equal((await asAdmin('PATCH', url, {})).statusCode, 400, 'an update changes something')
  t.equal((await asAdmin('PATCH', '/api/v1/clients/dgc_nope0000000000000', { allowedAddresses: [] })).statusCode, 404)
  for (const role of OTHER_ROLES) {
    t.equal((await h.as(role, { method: 'PATCH', url, payload: { allowedAddresses: [] } })).statusCode, 403, `${role} changes no client`)
  }
  t.same((await storedClients(h))[0]!.allowed_addresses, ['10.20.0.0/16', '2001:db8::7', '192.168.1.7'], 'unchanged so far')

  // a second process on the same database, behind a proxy (TRUST_PROXY): the caller's address is the forwarded one
  const database = TEST_DATABASE_URL ? await h.testDb.open() : h.database
  const other = await buildApp({ config: { ...h.config, TRUST_PROXY: true }, database, mode: 'all', keys: { signing: h.key, verification: h.key }, logger: false, closeDatabase: !!TEST_DATABASE_URL })
  await other.ready()
  t.teardown(() => other.close())
  const viaProxy = (forwarded: string) => ({ headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwarded } })
  const proxied = async (forwarded: string) => await other.inject({ method: 'GET', url: '/api/v1/units', remoteAddress: '127.0.0.1', ...viaProxy(forwarded) })
  t.equal((await proxied('10.20.3.3')).statusCode, 200, 'the forwarded address is the caller\'s')
  t.equal((await proxied('8.8.8.8')).statusCode, 403)

  const moved = await asAdmin('PATCH', url, { allowedAddresses: ['172.16.0.0/12'], name: 'one-card gate (new building)' })
  t.equal(moved.statusCode, 200, moved.body)
  t.match(moved.json(), { name: 'one-card gate (new building)', allowedAddresses: ['172.16.0.0/12'] })
  t.equal((await use('172.16.0.1')).statusCode, 200, 'this process applies the change at once, to tokens already issued')
  t.equal((await use('10.20.9.9')).statusCode, 403)
  await other.terminalControl.refresh() // what its timer does every BLACKLIST_REFRESH_MS
  t.equal((await proxied('172.20.0.9')).statusCode, 200, 'the other process too, after its reload')
  t.equal((await proxied('10.20.3.3')).statusCode, 403)
  t.match((await eventsOf(h.database.db, 'service_client', created.clientId)).at(-1), {
    action: 'client.update',
    actor_sub: 'admin-li',
    details: { before: { allowedAddresses: ['10.20.0.0/16', '2001:db8::7', '192.168.1.7'] }, after: { allowedAddresses: ['172.16.0.0/12'] } }
  })

  t.same((await asAdmin('PATCH', url, { allowedAddresses: [] })).json().allowedAddresses, [], 'an empty list: from anywhere')
  t.equal((await use('8.8.4.4')).statusCode, 200)
  t.equal((await tokenFrom('8.8.4.4')).statusCode, 200)
})
