import { createHmac, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { createJwksResolver, JwksKeyError } from '../../src/platform/auth/jwks.js'
import { build, type TestApp, type TestContext } from '../helpers/build.js'

const problemType = 'application/problem+json; charset=utf-8'
const IDP_ISSUER = 'https://idp.example.edu.cn'
const unit = { code: 'CS', name: 'School of Computer Science', officer: { name: 'Li Wei', contact: 'liwei@example.edu.cn' } }

// ---- the identity provider's keys ----

type Alg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA' | 'HS256' | 'none'

interface IdpKey { kid: string, alg: Exclude<Alg, 'HS256' | 'none'>, privateKey: KeyObject, jwk: Record<string, unknown> }

function idpKey (kid: string, alg: IdpKey['alg'], options: { withAlg?: boolean } = {}): IdpKey {
  const { privateKey, publicKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    : alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...(options.withAlg === false ? {} : { alg }) }
  return { kid, alg, privateKey, jwk }
}

const b64u = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)

function signature (alg: Alg, key: KeyObject | string | null, input: Buffer): Buffer {
  switch (alg) {
    case 'EdDSA': return cryptoSign(null, input, key as KeyObject)
    case 'ES256': return cryptoSign('sha256', input, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' })
    case 'RS256': return cryptoSign('sha256', input, key as KeyObject)
    case 'PS256': return cryptoSign('sha256', input, { key: key as KeyObject, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 })
    case 'HS256': return createHmac('sha256', key as string).update(input).digest()
    case 'none': return Buffer.alloc(0)
  }
}

/** An IdP token: by default valid, signed by `key` under its kid and alg. */
function idpToken (key: IdpKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, signWith?: { alg: Alg, key: KeyObject | string | null }) {
  const head = { alg: key.alg, typ: 'JWT', kid: key.kid, ...header }
  const payload = { iss: IDP_ISSUER, aud: 'datagate', sub: 'zhang.san', unit: 'CS', roles: ['consumer'], iat: now(), exp: now() + 300, ...claims }
  const input = `${b64u(head)}.${b64u(payload)}`
  const sig = signature(signWith?.alg ?? (head.alg as Alg), signWith ? signWith.key : key.privateKey, Buffer.from(input))
  return `${input}.${sig.toString('base64url')}`
}

// ---- a JWKS server on 127.0.0.1 ----

interface JwksServer {
  url: string
  hits: number
  /** what it answers: the key set, an HTTP error, something that is not JSON, or nothing at all */
  mode: 'keys' | 'error' | 'html' | 'hang'
  keys: Record<string, unknown>[]
  server: Server
}

async function jwksServer (t: TestContext, keys: Record<string, unknown>[]): Promise<JwksServer> {
  const state = { hits: 0, mode: 'keys', keys } as JwksServer
  state.server = createServer((req, res) => {
    state.hits++
    if (req.url !== '/jwks.json') return res.writeHead(404).end()
    if (state.mode === 'hang') return // never answers
    if (state.mode === 'error') return res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"down"}')
    if (state.mode === 'html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>')
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }))
  })
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}/jwks.json`
  t.teardown(async () => {
    state.server.closeAllConnections()
    await new Promise((resolve) => state.server.close(resolve))
  })
  return state
}

/** A URL where nothing listens: a port that was just free. */
async function deadUrl (): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return `http://127.0.0.1:${port}/jwks.json`
}

const whoami = (app: FastifyInstance) => {
  app.get('/api/v1/test-whoami', { config: { access: 'authenticated' } }, async (request) => request.principal)
}

async function withIdp (t: TestContext, url: string) {
  return await build(t, { env: { JWKS_URL: url, JWKS_ISSUER: IDP_ISSUER }, extend: whoami })
}

async function get (h: TestApp, token: string, url = '/api/v1/units') {
  return await h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
}

async function post (h: TestApp, token: string, code: string) {
  return await h.app.inject({ method: 'POST', url: '/api/v1/units', headers: { authorization: `Bearer ${token}` }, payload: { ...unit, code } })
}

async function unitCodes (h: TestApp): Promise<string[]> {
  const list = await h.as('consumer', { method: 'GET', url: '/api/v1/units' })
  return list.json().data.map((u: { code: string }) => u.code)
}

t.test('tokens of the campus identity provider are accepted beside Datagate\'s own', async (t) => {
  const es = idpKey('idp-es-1', 'ES256')
  const rs = idpKey('idp-rs-1', 'RS256', { withAlg: false })
  const ed = idpKey('idp-ed-1', 'EdDSA')
  const idp = await jwksServer(t, [es.jwk, rs.jwk, ed.jwk])
  const h = await withIdp(t, idp.url)

  for (const [label, token] of [
    ['ES256', idpToken(es)],
    ['RS256 (a JWK without alg)', idpToken(rs)],
    ['PS256 with the same RSA key', idpToken(rs, {}, { alg: 'PS256' })],
    ['EdDSA (an OKP JWK)', idpToken(ed)]
  ] as const) {
    const res = await get(h, token)
    t.equal(res.statusCode, 200, `${label}: ${res.body}`)
    t.same(res.json(), { data: [], nextCursor: null })
  }
  t.equal(idp.hits, 1, 'the key set was fetched once and kept')

  const admin = await post(h, idpToken(es, { sub: 'wang.admin', unit: 'ITC', roles: ['system_admin'] }), 'CS')
  t.equal(admin.statusCode, 201, admin.body)
  t.same(await unitCodes(h), ['CS'])

  const me = await get(h, idpToken(es, { sub: 'zhang.san', unit: 'CS', roles: ['steward'], jti: 'idp-token-1', client: 'dgc_pretend0000000000' }), '/api/v1/test-whoami')
  t.same(me.json(), { sub: 'zhang.san', unit: 'CS', roles: ['steward'], tokenId: 'idp-token-1' },
    'the principal comes from the claims; a `client` claim from the IdP is not believed')

  const own = await get(h, h.token('consumer'))
  t.equal(own.statusCode, 200, 'Datagate\'s own tokens still work')
  t.equal(idp.hits, 1, 'its own tokens never touch the JWKS')
})

t.test('identity-provider tokens that are not right are 401 problems and write nothing', async (t) => {
  const es = idpKey('idp-es-1', 'ES256')
  const rs = idpKey('idp-rs-1', 'RS256')
  const enc = idpKey('idp-enc-1', 'RS256')
  const leaked = idpKey('idp-leaked-1', 'ES256')
  const impostor = idpKey('idp-es-1', 'ES256') // same kid, another key
  const idp = await jwksServer(t, [
    es.jwk,
    rs.jwk,
    { ...enc.jwk, use: 'enc' },
    { ...leaked.privateKey.export({ format: 'jwk' }), kid: leaked.kid, alg: 'ES256', use: 'sig' } // a private key, published by mistake
  ])
  const h = await withIdp(t, idp.url)
  t.equal((await get(h, idpToken(es))).statusCode, 200, 'control: a right token is accepted')
  t.equal(idp.hits, 1)

  const edOther = generateKeyPairSync('ed25519').privateKey
  const esPublicPem = createPublicPem(es)
  const cases: [string, string, RegExp][] = [
    ['unknown kid', idpToken(es, {}, { kid: 'idp-es-9' }), /unknown key id/],
    ['another unknown kid', idpToken(es, {}, { kid: 'rotated-away' }), /unknown key id/],
    ['no kid', idpToken(es, {}, { kid: undefined }), /lacks kid/],
    ['the IdP issuer, signed by another key under a known kid', idpToken(impostor), /bad signature/],
    ['the IdP issuer, signed by an Ed25519 key', idpToken(es, {}, { alg: 'EdDSA' }, { alg: 'EdDSA', key: edOther }), /algorithm not allowed/],
    ['HS256 keyed with the IdP public key PEM', idpToken(es, {}, { alg: 'HS256' }, { alg: 'HS256', key: esPublicPem }), /algorithm not allowed/],
    ['alg none', idpToken(es, {}, { alg: 'none' }, { alg: 'none', key: null }), /algorithm not allowed/],
    ['ES256 header on the RSA kid', idpToken(rs, {}, { alg: 'ES256' }, { alg: 'ES256', key: es.privateKey }), /algorithm not allowed/],
    ['RS256 header on an RSA kid published for RS256 only, PS256 signature', idpToken(rs, {}, { alg: 'PS256' }), /algorithm not allowed/],
    ['a key published for encryption', idpToken(enc), /unknown key id/],
    ['a private key published by mistake', idpToken(leaked), /unknown key id/],
    ['signed by the IdP but claiming Datagate as issuer', idpToken(es, { iss: h.config.JWT_ISSUER }), /algorithm not allowed|bad signature/],
    ['signed by the IdP for another issuer', idpToken(es, { iss: 'https://other-idp.example' }), /unknown issuer/],
    ['wrong aud', idpToken(es, { aud: 'another-app' }), /wrong aud/],
    ['expired', idpToken(es, { iat: now() - 900, exp: now() - 120 }), /expired/],
    ['no exp', idpToken(es, { exp: undefined }), /missing claim exp/],
    ['no unit', idpToken(es, { unit: undefined }), /sub, unit and roles/],
    ['unknown role', idpToken(es, { roles: ['dean'] }), /sub, unit and roles/],
    ['roles not a list', idpToken(es, { roles: 'consumer' }), /sub, unit and roles/],
    ['two officer roles', idpToken(es, { roles: ['security_admin', 'auditor'] }), /security_admin and auditor are separated duties/]
  ]
  for (const [label, token, reason] of cases) {
    for (const [method, res] of [['GET', await get(h, token)], ['POST', await post(h, token, 'FORGED')]] as const) {
      t.equal(res.statusCode, 401, `${label}: ${method} ${res.body}`)
      t.equal(res.headers['content-type'], problemType, label)
      t.equal(res.json().code, 'AUTH_TOKEN_INVALID', label)
      t.match(res.json().detail, reason, `${label}: ${res.json().detail}`)
      t.notMatch(res.body, /127\.0\.0\.1|BEGIN|jwks/, `${label}: names no URL or key`)
    }
  }
  t.same(await unitCodes(h), [], 'nothing was written')
  t.equal(idp.hits, 1, 'made-up kids do not make Datagate fetch the key set again and again')
})

function createPublicPem (key: IdpKey): string {
  return createPublicKey(key.privateKey).export({ format: 'pem', type: 'spki' }).toString()
}

t.test('an identity provider that is down means 401 for its tokens, never 500', async (t) => {
  const es = idpKey('idp-es-1', 'ES256')
  const h = await withIdp(t, await deadUrl())
  for (let i = 0; i < 3; i++) {
    const res = await post(h, idpToken(es, { roles: ['system_admin'] }), 'DOWN')
    t.equal(res.statusCode, 401, res.body)
    t.equal(res.headers['content-type'], problemType)
    t.match(res.json(), { code: 'AUTH_TOKEN_INVALID', detail: /identity provider keys unavailable/ })
  }
  t.same(await unitCodes(h), [])
  t.equal((await get(h, h.token('consumer'))).statusCode, 200, 'Datagate\'s own tokens do not depend on the IdP')
})

t.test('an identity provider that answers 500, HTML or nothing means 401 within the fetch deadline', async (t) => {
  const es = idpKey('idp-es-1', 'ES256')
  for (const mode of ['error', 'html'] as const) {
    const idp = await jwksServer(t, [es.jwk])
    idp.mode = mode
    const h = await withIdp(t, idp.url)
    const res = await get(h, idpToken(es))
    t.equal(res.statusCode, 401, `${mode}: ${res.body}`)
    t.match(res.json(), { code: 'AUTH_TOKEN_INVALID', detail: /identity provider keys unavailable/ }, mode)
    t.equal(idp.hits, 1, mode)
  }

  const idp = await jwksServer(t, [es.jwk])
  idp.mode = 'hang'
  const h = await withIdp(t, idp.url)
  const started = Date.now()
  const res = await get(h, idpToken(es))
  const took = Date.now() - started
  t.equal(res.statusCode, 401, res.body)
  t.match(res.json().detail, /identity provider keys unavailable/)
  t.ok(took >= 4000 && took < 60_000, `a hanging JWKS is given up after its 5 s deadline (took ${took} ms)`)
  const second = Date.now()
  t.equal((await get(h, idpToken(es))).statusCode, 401)
  t.ok(Date.now() - second < 4000, 'and is not waited for again on every request (its deadline is 5 s)')
})

t.test('the key resolver: rotation, refetch limits, stale keys and deadlines', async (t) => {
  const one = idpKey('k1', 'ES256')
  const two = idpKey('k2', 'ES256')
  const idp = await jwksServer(t, [one.jwk])
  const errors: string[] = []

  const eager = createJwksResolver({ url: idp.url, minRefreshMs: 0, onError: (err) => errors.push(err.message) })
  t.match(await eager.key('k1', 'ES256'), /^-----BEGIN PUBLIC KEY-----/)
  t.equal(idp.hits, 1)
  await t.rejects(eager.key('k2', 'ES256'), new JwksKeyError('unknown key id'))
  t.equal(idp.hits, 2, 'an unknown kid is looked for in a fresh key set')
  idp.keys = [one.jwk, two.jwk] // the provider rotates
  t.match(await eager.key('k2', 'ES256'), /BEGIN PUBLIC KEY/, 'a new kid is found once published')
  t.equal(idp.hits, 3)
  t.match(await eager.key('k1', 'ES256'), /BEGIN PUBLIC KEY/)
  t.equal(idp.hits, 3, 'known kids are served from memory')
  await t.rejects(eager.key('k1', 'RS256'), new JwksKeyError('algorithm not allowed for this key'))
  await t.rejects(eager.key('k1', 'HS256'), new JwksKeyError('algorithm not allowed'))
  await t.rejects(eager.key(undefined, 'ES256'), new JwksKeyError('token header lacks kid'))

  idp.keys = [one.jwk, { ...two.jwk }, { ...idpKey('k2', 'ES256').jwk }]
  await t.rejects(eager.key('k3', 'ES256'), new JwksKeyError('unknown key id')) // refetches
  await t.rejects(eager.key('k2', 'ES256'), new JwksKeyError('unknown key id'), 'a kid published twice is ambiguous and not used')

  idp.keys = [one.jwk]
  const patient = createJwksResolver({ url: idp.url, minRefreshMs: 60_000 })
  await patient.key('k1', 'ES256')
  const hits = idp.hits
  for (let i = 0; i < 20; i++) await t.rejects(patient.key(`made-up-${i}`, 'ES256'), new JwksKeyError('unknown key id'))
  t.equal(idp.hits, hits, 'within minRefreshMs nothing is fetched, however many kids are made up')

  const stale = createJwksResolver({ url: idp.url, minRefreshMs: 0, ttlMs: 1, onError: (err) => errors.push(err.message) })
  await stale.key('k1', 'ES256')
  idp.mode = 'error'
  await new Promise((resolve) => setTimeout(resolve, 5))
  t.match(await stale.key('k1', 'ES256'), /BEGIN PUBLIC KEY/, 'while the provider fails, the keys last fetched stay in use')
  t.match(errors.at(-1), /HTTP 500/, 'and the failure is reported')

  idp.mode = 'hang'
  const slow = createJwksResolver({ url: idp.url, timeoutMs: 200, onError: (err) => errors.push(err.message) })
  const started = Date.now()
  const [a, b] = await Promise.allSettled([slow.key('k1', 'ES256'), slow.key('k1', 'ES256')])
  t.ok(Date.now() - started < 10_000, 'the deadline holds (the provider never answers)')
  t.same([a.status, b.status], ['rejected', 'rejected'])
  t.match((a as PromiseRejectedResult).reason, new JwksKeyError('identity provider keys unavailable'))
  t.match(errors.at(-1), /did not answer within 200 ms/)
  t.equal(errors.filter((e) => /did not answer/.test(e)).length, 1, 'concurrent callers share one fetch')
})
