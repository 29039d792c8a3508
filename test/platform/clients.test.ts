import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { verifySecret } from '../../src/platform/crypto.js'
import { build, createUnit, type TestApp } from '../helpers/build.js'

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
    lastUsedAt: null
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
      { method: 'POST', url: `/api/v1/clients/${client.clientId}/disable` }
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
