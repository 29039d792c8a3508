/**
 * OWASP API2:2023 broken authentication. The basic token checks (forged, other key, `alg: none`,
 * HS256 keyed with the public key, expired, `nbf`, missing claims, wrong `iss`/`aud`, officer role
 * conflicts) are in test/platform/auth.test.ts, identity-provider tokens in test/platform/jwks.test.ts,
 * the client-credentials grant in test/platform/clients.test.ts and blacklisted callers in
 * test/audit/blacklist.test.ts. This file adds what they do not prove: every refusal is in the audit
 * log, tokens that live longer than the platform issues, oversized and mis-shaped tokens, other
 * algorithm families, and brute force against the token endpoint.
 */
import { createHmac, createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { build, createUnit, type TestApp } from '../helpers/build.js'

const problemType = 'application/problem+json; charset=utf-8'
const b64u = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)

type Signer = (input: Buffer) => Buffer
const ed25519 = (key: KeyObject | string): Signer => (input) => cryptoSign(null, input, key)
const es256 = (key: KeyObject | string): Signer => (input) =>
  cryptoSign('sha256', input, { key: typeof key === 'string' ? createPrivateKey(key) : key, dsaEncoding: 'ieee-p1363' })
const rs256 = (key: KeyObject): Signer => (input) => cryptoSign('sha256', input, key)
const hs256 = (secret: string | Buffer): Signer => (input) => createHmac('sha256', secret).update(input).digest()

function forge (header: object, payload: object, signer: Signer | null): string {
  const input = `${b64u(header)}.${b64u(payload)}`
  return `${input}.${signer ? signer(Buffer.from(input)).toString('base64url') : ''}`
}

/** The app's own key, header and claims: what a correct token of this deployment looks like. */
function own (h: TestApp) {
  const signer = h.key.algorithm === 'EdDSA' ? ed25519(h.key.privatePem) : es256(h.key.privatePem)
  const header = { alg: h.key.algorithm, typ: 'JWT', kid: h.key.kid }
  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: h.config.JWT_ISSUER, aud: h.config.JWT_AUDIENCE, sub: 'mallory', unit: 'CS', roles: ['system_admin'], iat: now(), exp: now() + 600, ...extra
  })
  return { signer, header, claims }
}

const without = (claims: Record<string, unknown>, ...names: string[]) =>
  Object.fromEntries(Object.entries(claims).filter(([name]) => !names.includes(name)))

/** The denials the audit log holds, by request id (read as an auditor, through the API). */
async function deniedEvents (h: TestApp): Promise<Map<string, { actor: { sub: string, ip: string | null }, outcome: string, details: Record<string, unknown> }>> {
  const found = new Map()
  let cursor: string | null = null
  do {
    const res = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events', query: { action: 'denied', limit: '200', ...(cursor ? { cursor } : {}) } })
    if (res.statusCode !== 200) throw new Error(`reading the audit log: ${res.statusCode} ${res.body}`)
    for (const e of res.json().data) found.set(e.requestId, e)
    cursor = res.json().nextCursor
  } while (cursor)
  return found
}

t.test('every bad token is a 401 problem document, writes nothing, and is audited', async (t) => {
  const h = await build(t)
  const { signer, header, claims } = own(h)
  const max = h.config.JWT_MAX_TTL_S
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  const otherEd = generateKeyPairSync('ed25519').privateKey
  const otherEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey
  const good = forge(header, claims(), signer)
  const [goodHead, goodBody, goodSig] = good.split('.') as [string, string, string]
  // one character of the signature changed: still base64url, no longer the signature
  const flipped = `${goodHead}.${goodBody}.${goodSig.slice(0, 10)}${goodSig[10] === 'A' ? 'B' : 'A'}${goodSig.slice(11)}`

  const cases: [label: string, token: string, reason: RegExp][] = [
    ['signature changed', flipped, /bad signature/],
    ['claims changed after signing', `${goodHead}.${b64u(claims({ roles: ['auditor'] }))}.${goodSig}`, /bad signature/],
    ['expired', forge(header, claims({ iat: now() - 4000, exp: now() - 3600 }), signer), /expired/],
    ['not yet valid', forge(header, claims({ nbf: now() + 3600 }), signer), /not valid yet/],
    ['alg none', forge({ alg: 'none', typ: 'JWT' }, claims(), null), /unsigned/],
    ['alg none, signature kept', forge({ alg: 'none', typ: 'JWT' }, claims(), signer), /algorithm not allowed/],
    ['signed by another Ed25519 key', forge(header, claims(), ed25519(otherEd)), /bad signature|algorithm not allowed/],
    ['unknown kid, signed by another key', forge({ ...header, kid: 'attacker-key' }, claims(), ed25519(otherEd)), /bad signature|algorithm not allowed/],
    ['ES256 from another key', forge({ ...header, alg: 'ES256' }, claims(), es256(otherEc)), /bad signature|algorithm not allowed/],
    ['RS256 against the platform key', forge({ ...header, alg: 'RS256' }, claims(), rs256(rsa)), /algorithm not allowed/],
    ['PS256 against the platform key', forge({ ...header, alg: 'PS256' }, claims(), rs256(rsa)), /algorithm not allowed/],
    ['HS256 keyed with the public key PEM', forge({ ...header, alg: 'HS256' }, claims(), hs256(h.key.publicPem)), /algorithm not allowed/],
    ['HS512 keyed with the public key PEM', forge({ ...header, alg: 'HS512' }, claims(), (input) => createHmac('sha512', h.key.publicPem).update(input).digest()), /algorithm not allowed/],
    ['wrong iss', forge(header, claims({ iss: 'https://evil.example' }), signer), /unknown issuer/],
    ['wrong aud', forge(header, claims({ aud: 'another-service' }), signer), /wrong aud/],
    ['no exp', forge(header, without(claims(), 'exp'), signer), /missing claim exp/],
    ['lifetime above JWT_MAX_TTL_S', forge(header, claims({ exp: now() + max + 3600 }), signer), /lifetime above the maximum/],
    ['lifetime above JWT_MAX_TTL_S, no iat', forge(header, without(claims({ exp: now() + max + 3600 }), 'iat'), signer), /lifetime above the maximum/],
    ['issued long ago, still valid: lifetime above the maximum', forge(header, claims({ iat: now() - max, exp: now() + 3600 }), signer), /lifetime above the maximum/],
    ['iat in the future to stretch the lifetime', forge(header, claims({ iat: now() + 10 * max, exp: now() + 10 * max + 60 }), signer), /lifetime above the maximum/],
    ['ten-year token', forge(header, claims({ exp: now() + 10 * 365 * 86400 }), signer), /lifetime above the maximum/],
    ['critical header the platform does not know', forge({ ...header, crit: ['x-unknown'], 'x-unknown': 1 }, claims(), signer), /critical header|malformed/],
    ['roles list inflated', forge(header, claims({ roles: Array.from({ length: 1000 }, () => 'consumer') }), signer), /sub, unit and roles/],
    ['garbage', 'not-a-token', /Bearer <JWT>/],
    ['garbage in three parts', 'aaaa.bbbb.cccc', /malformed/],
    ['two segments', `${goodHead}.${goodBody}`, /Bearer <JWT>/],
    ['four segments', `${good}.${goodSig}`, /Bearer <JWT>/],
    ['five segments (a JWE shape)', `${goodHead}..${goodBody}.${goodSig}.tag`, /Bearer <JWT>/],
    ['non-base64url characters', `${goodHead}.${goodBody}.${goodSig}=`, /Bearer <JWT>/],
    ['huge (8 KB of padding claims)', forge(header, claims({ pad: 'x'.repeat(8000) }), ed25519(otherEd)), /bad signature|algorithm not allowed/],
    ['huge garbage (12 KB)', `${'a'.repeat(4000)}.${'b'.repeat(4000)}.${'c'.repeat(4000)}`, /malformed/]
  ]
  t.ok(cases.length < 60, 'fewer refusals than the per-caller audit budget, so that each one is stored')

  for (const [i, [label, token, reason]] of cases.entries()) {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/units',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': `api2-${i}` },
      payload: { code: `F${i}`, name: 'forged', officer: { name: 'n', contact: 'c' } }
    })
    t.equal(res.statusCode, 401, `${label}: ${res.body}`)
    t.equal(res.headers['content-type'], problemType, `${label}: a problem document`)
    t.match(res.json(), { status: 401, code: 'AUTH_TOKEN_INVALID', requestId: `api2-${i}` }, label)
    t.match(res.json().detail, reason, `${label}: says why (${res.json().detail})`)
    t.match(res.headers['www-authenticate'], /^Bearer realm="datagate", error="invalid_token"/, label)
    t.notMatch(res.body, /BEGIN|PRIVATE|at \/|\.[tj]s:/, `${label}: no key material or internals`)
  }

  // positive control: the same construction with the right key and claims is accepted
  const control = await h.app.inject({ method: 'POST', url: '/api/v1/units', headers: { authorization: `Bearer ${good}` }, payload: { code: 'OK', name: 'control', officer: { name: 'n', contact: 'c' } } })
  t.equal(control.statusCode, 201, control.body)
  const longest = forge(header, claims({ exp: now() + max }), signer)
  t.equal((await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${longest}` } })).statusCode, 200,
    'a token of exactly JWT_MAX_TTL_S is accepted')

  const units = await h.as('consumer', { method: 'GET', url: '/api/v1/units' })
  t.same(units.json().data.map((u: { code: string }) => u.code), ['OK'], 'no refused request wrote anything')

  const denied = await deniedEvents(h)
  for (const [i, [label]] of cases.entries()) {
    const event = denied.get(`api2-${i}`)
    t.ok(event, `${label}: the refusal is in the audit log`)
    t.match(event, { outcome: 'denied', actor: { sub: 'anonymous' }, details: { status: 401, method: 'POST', route: '/api/v1/units' } }, label)
  }
})

t.test('a token too large for any header is refused by the HTTP server, not by a crash', async (t) => {
  const h = await build(t)
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = h.app.server.address() as AddressInfo
  const send = (authorization: string) => new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/units', headers: { authorization }, agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
  t.equal(await send(`Bearer ${'a'.repeat(100)}.${'b'.repeat(100_000)}.c`), 431, 'a 100 KB header is 431 (Node\'s header limit)')
  t.equal(await send(`Bearer ${h.token('consumer')}`), 200, 'and the server goes on answering')
})

t.test('a blocked principal\'s valid token is refused (403 AUTH_BLOCKED) and audited with who it was', async (t) => {
  const h = await build(t)
  const token = h.token('consumer', { sub: 'leaver', unit: 'CS' })
  const ask = async (id: string) => await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${token}`, 'x-request-id': id } })
  t.equal((await ask('before')).statusCode, 200, 'control: accepted before the block')
  const blocked = await h.as('security_admin', { method: 'POST', url: '/api/v1/audit/blacklist', payload: { kind: 'principal', value: 'leaver', reason: 'left the university' } })
  t.equal(blocked.statusCode, 201, blocked.body)
  await h.app.blocklist.refresh()
  const res = await ask('after-block')
  t.equal(res.statusCode, 403)
  t.equal(res.headers['content-type'], problemType)
  t.equal(res.json().code, 'AUTH_BLOCKED')
  const event = (await deniedEvents(h)).get('after-block')
  t.match(event, { actor: { sub: 'leaver' }, details: { status: 403 } }, 'the refusal names the blocked caller')
})

t.test('client credentials: wrong secrets are audited, and guessing is rate-limited per address', async (t) => {
  const h = await build(t)
  await createUnit(h, 'SA')
  const created = await h.as('system_admin', { method: 'POST', url: '/api/v1/clients', payload: { name: 'student affairs', unit: 'SA', roles: ['consumer'] } })
  t.equal(created.statusCode, 201, created.body)
  const { clientId, clientSecret } = created.json() as { clientId: string, clientSecret: string }
  const ask = async (id: string, secret: string, remoteAddress = '10.1.1.1', requestId?: string) => await h.app.inject({
    method: 'POST',
    url: '/api/v1/auth/token',
    remoteAddress,
    headers: requestId ? { 'x-request-id': requestId } : {},
    payload: { grant_type: 'client_credentials', client_id: id, client_secret: secret }
  })

  const wrong = await ask(clientId, 'guess-0', '10.1.1.1', 'cc-wrong')
  const unknown = await ask('dgc_0000000000000000', clientSecret, '10.1.1.1', 'cc-unknown')
  for (const [label, res] of [['wrong secret', wrong], ['unknown client', unknown]] as const) {
    t.equal(res.statusCode, 401, label)
    t.equal(res.headers['content-type'], problemType, label)
    t.equal(res.json().code, 'AUTH_CLIENT_INVALID', label)
    t.notOk(res.body.includes('access_token'), label)
  }
  t.equal(wrong.json().detail, unknown.json().detail, 'an unknown client and a wrong secret look the same')
  const denied = await deniedEvents(h)
  for (const id of ['cc-wrong', 'cc-unknown']) {
    t.match(denied.get(id), { actor: { sub: 'anonymous', ip: '10.1.1.1' }, details: { status: 401, route: '/api/v1/auth/token' } }, `${id} is audited`)
  }

  // the token endpoint allows 60 attempts a minute per address (two made above): the 61st and later are 429
  const statuses: number[] = []
  for (let i = 3; i <= 60; i++) statuses.push((await ask(clientId, `guess-${i}`)).statusCode)
  t.same(statuses, Array(58).fill(401), 'the first 60 guesses are each refused')
  const limited = await ask(clientId, clientSecret)
  t.equal(limited.statusCode, 429, 'then even the right secret gets no token from that address')
  t.equal(limited.headers['content-type'], problemType)
  t.equal(limited.json().code, 'RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After says when to try again')
  t.notOk(limited.body.includes('access_token'))
  const elsewhere = await ask(clientId, clientSecret, '10.2.2.2')
  t.equal(elsewhere.statusCode, 200, 'another address is not held back')
  t.ok(elsewhere.json().access_token)
})
