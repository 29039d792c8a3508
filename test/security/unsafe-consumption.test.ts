/**
 * OWASP API10:2023 unsafe consumption of APIs. The one outside API Datagate consumes is the campus
 * identity provider's JWKS (JWKS_URL). What it answers is checked before it is believed: size, shape,
 * each key's type, use, operations and algorithm; redirects are not followed; slow answers are cut
 * at a deadline. test/platform/jwks.test.ts covers rotation, refetch limits, unknown and duplicate
 * kids, private and encryption keys, 500/HTML answers and a server that never answers (through the
 * app); this file adds oversized, malformed and mis-typed answers, redirects and trickling servers.
 */
import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { createJwksResolver, JwksKeyError, MAX_JWKS_BYTES } from '../../src/platform/auth/jwks.js'
import { build, type TestContext } from '../helpers/build.js'

const IDP_ISSUER = 'https://idp.example.edu.cn'
const problemType = 'application/problem+json; charset=utf-8'

const es = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const goodJwk = { ...es.publicKey.export({ format: 'jwk' }), kid: 'good', alg: 'ES256', use: 'sig' }

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** An HTTP server on 127.0.0.1 answering each path with its handler; counts requests and bytes sent. */
async function server (t: TestContext, routes: Record<string, Handler>) {
  const state = { base: '', hits: new Map<string, number>(), sent: new Map<string, number>() }
  const s = createServer((req, res) => {
    const path = req.url ?? ''
    state.hits.set(path, (state.hits.get(path) ?? 0) + 1)
    const write = res.write.bind(res)
    res.write = ((chunk: Buffer | string, ...rest: never[]) => {
      state.sent.set(path, (state.sent.get(path) ?? 0) + Buffer.byteLength(chunk))
      return write(chunk, ...rest)
    }) as typeof res.write
    const handler = routes[path]
    if (!handler) return res.writeHead(404).end()
    handler(req, res)
  })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  state.base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`
  t.teardown(() => { s.closeAllConnections(); return new Promise((resolve) => s.close(resolve)) })
  return state
}

const json = (body: unknown, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body))
}

/** Streams `total` bytes of a JSON string in 64 KB chunks, as fast as the client reads, without Content-Length. */
const endless = (total: number): Handler => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.write('{"keys":[],"pad":"')
  let left = total
  const pump = () => {
    while (left > 0) {
      left -= 65536
      if (!res.write('x'.repeat(65536))) { res.once('drain', pump); return }
    }
    res.end('"}')
  }
  res.on('close', () => { left = 0 })
  pump()
}

/** Resolves a kid against one URL with a fresh resolver; the reason it fails, or 'ok'. */
async function tryKey (url: string, kid = 'good', alg = 'ES256', timeoutMs = 2000) {
  const errors: string[] = []
  const resolver = createJwksResolver({ url, timeoutMs, minRefreshMs: 60_000, onError: (err) => errors.push(err.message) })
  try {
    await resolver.key(kid, alg)
    return { outcome: 'ok', errors }
  } catch (err) {
    if (!(err instanceof JwksKeyError)) throw err
    return { outcome: err.reason, errors }
  }
}

t.test('answers that are too large, not JSON or not a key set are refused, and the keys stay unavailable', async (t) => {
  const pad = 'x'.repeat(MAX_JWKS_BYTES)
  const idp = await server(t, {
    '/good': json({ keys: [goodJwk] }),
    '/declared-too-large': json({ keys: [goodJwk], pad }),
    '/chunked-too-large': endless(20 * 1024 * 1024),
    '/multibyte-too-large': json({ keys: [goodJwk], pad: '键'.repeat(Math.ceil(MAX_JWKS_BYTES / 3) + 10) }),
    '/html': (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'),
    '/truncated': json('{"keys":[{"kty":"EC"'),
    '/no-keys': json({ key: goodJwk }),
    '/keys-object': json({ keys: { good: goodJwk } }),
    '/keys-null': json({ keys: null }),
    '/array': json([goodJwk]),
    '/null': json('null'),
    '/deep': json(`${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    '/empty': json(''),
    '/status-204': (_req, res) => res.writeHead(204).end(),
    '/status-404': (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [goodJwk] }))
  })
  t.equal((await tryKey(`${idp.base}/good`)).outcome, 'ok', 'control: a proper key set is used')

  for (const [path, why] of [
    ['/declared-too-large', /larger than 524288 bytes/],
    ['/chunked-too-large', /larger than 524288 bytes/],
    ['/multibyte-too-large', /larger than 524288 bytes/],
    ['/html', /not JSON/],
    ['/truncated', /not JSON/],
    ['/no-keys', /no "keys" array/],
    ['/keys-object', /no "keys" array/],
    ['/keys-null', /no "keys" array/],
    ['/array', /no "keys" array/],
    ['/null', /no "keys" array/],
    ['/deep', /no "keys" array|not JSON/],
    ['/empty', /not JSON/],
    ['/status-204', /not JSON|HTTP 204/],
    ['/status-404', /HTTP 404/]
  ] as const) {
    const { outcome, errors } = await tryKey(`${idp.base}${path}`)
    t.equal(outcome, 'identity provider keys unavailable', `${path}: no key is taken from it`)
    t.match(errors[0], why, `${path}: the failure is reported (${errors[0]})`)
  }
  await sleep(100)
  const streamed = idp.sent.get('/chunked-too-large') ?? 0
  t.ok(streamed < 8 * 1024 * 1024, `a 20 MB answer without Content-Length is cut off early, not read to the end (${Math.round(streamed / 1024)} KB were sent)`)
})

t.test('keys of the wrong type, use, operations or algorithm are never used', async (t) => {
  const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ed = generateKeyPairSync('ed25519')
  const secret = 'shared-secret-of-32-bytes-or-more!!'
  const jwk = (key: KeyObject, extra: Record<string, unknown>) => ({ ...key.export({ format: 'jwk' }), ...extra })
  const idp = await server(t, {
    '/jwks': json({
      keys: [
        goodJwk,
        { kty: 'oct', k: Buffer.from(secret).toString('base64url'), kid: 'symmetric', alg: 'HS256', use: 'sig' },
        jwk(es.publicKey, { kid: 'for-encryption', use: 'enc' }),
        jwk(es.publicKey, { kid: 'encrypt-only', key_ops: ['encrypt'] }),
        jwk(es.publicKey, { kid: 'claims-hs256', alg: 'HS256', use: 'sig' }),
        jwk(es.publicKey, { kid: 'claims-rs256', alg: 'RS256', use: 'sig' }),
        jwk(es.publicKey, { kid: 'claims-none', alg: 'none', use: 'sig' }),
        jwk(weakRsa.publicKey, { kid: 'weak-rsa', use: 'sig' }),
        jwk(rsa.publicKey, { kid: 'rsa-for-ps256', alg: 'PS256', use: 'sig' }),
        jwk(ed.publicKey, { kid: 'ed', use: 'sig' }),
        { kty: 'EC', crv: 'P-256', x: 'not-a-point', y: 'nope', kid: 'broken' },
        { kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'tiny-modulus' },
        'not a key',
        null,
        { kid: 'no-kty' },
        jwk(es.publicKey, { kid: '' }),
        jwk(es.publicKey, { kid: { nested: true } })
      ]
    })
  })
  const url = `${idp.base}/jwks`
  const cases: [kid: string, alg: string, expected: string][] = [
    ['good', 'ES256', 'ok'],
    ['ed', 'EdDSA', 'ok'],
    ['rsa-for-ps256', 'PS256', 'ok'],
    ['rsa-for-ps256', 'RS256', 'algorithm not allowed for this key'],
    ['good', 'RS256', 'algorithm not allowed for this key'],
    ['good', 'EdDSA', 'algorithm not allowed for this key'],
    ['good', 'HS256', 'algorithm not allowed'],
    ['ed', 'ES256', 'algorithm not allowed for this key'],
    ['symmetric', 'HS256', 'algorithm not allowed'],
    ['symmetric', 'ES256', 'unknown key id'],
    ['for-encryption', 'ES256', 'unknown key id'],
    ['encrypt-only', 'ES256', 'unknown key id'],
    ['claims-hs256', 'ES256', 'unknown key id'],
    ['claims-rs256', 'ES256', 'unknown key id'],
    ['claims-rs256', 'RS256', 'unknown key id'],
    ['claims-none', 'ES256', 'unknown key id'],
    ['weak-rsa', 'RS256', 'unknown key id'],
    ['broken', 'ES256', 'unknown key id'],
    ['tiny-modulus', 'RS256', 'unknown key id']
  ]
  const resolver = createJwksResolver({ url, minRefreshMs: 60_000 })
  for (const [kid, alg, expected] of cases) {
    const outcome = await resolver.key(kid, alg).then(() => 'ok', (err: JwksKeyError) => err.reason)
    t.equal(outcome, expected, `${kid} with ${alg}`)
  }
  t.equal(idp.hits.get('/jwks'), 1, 'one fetch served every lookup')

  // end to end: an HS256 token keyed with the published symmetric secret gets nowhere
  const h = await build(t, { env: { JWKS_URL: url, JWKS_ISSUER: IDP_ISSUER } })
  const b64u = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: IDP_ISSUER, aud: h.config.JWT_AUDIENCE, sub: 'x', unit: 'CS', roles: ['consumer'], iat: now, exp: now + 300 }
  const token = (header: object, sign: (input: Buffer) => Buffer) => {
    const input = `${b64u(header)}.${b64u(claims)}`
    return `${input}.${sign(Buffer.from(input)).toString('base64url')}`
  }
  const forged = token({ alg: 'HS256', kid: 'symmetric' }, (input) => createHmac('sha256', secret).update(input).digest())
  const refused = await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${forged}` } })
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['content-type'], problemType)
  t.match(refused.json().detail, /algorithm not allowed/)
  const right = token({ alg: 'ES256', kid: 'good' }, (input) => cryptoSign('sha256', input, { key: es.privateKey, dsaEncoding: 'ieee-p1363' }))
  t.equal((await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${right}` } })).statusCode, 200, 'control: the good key works')
})

t.test('redirects are not followed, wherever they point', async (t) => {
  const elsewhere = await server(t, { '/jwks': json({ keys: [goodJwk] }) })
  const idp = await server(t, {
    '/moved': (_req, res) => res.writeHead(302, { location: `${elsewhere.base}/jwks` }).end(),
    '/permanent': (_req, res) => res.writeHead(301, { location: `${elsewhere.base}/jwks` }).end(),
    '/temporary': (_req, res) => res.writeHead(307, { location: `${elsewhere.base}/jwks` }).end(),
    '/same-host': (_req, res) => res.writeHead(308, { location: '/jwks' }).end(),
    '/jwks': json({ keys: [goodJwk] })
  })
  for (const path of ['/moved', '/permanent', '/temporary', '/same-host']) {
    const { outcome, errors } = await tryKey(`${idp.base}${path}`)
    t.equal(outcome, 'identity provider keys unavailable', `${path}: not followed`)
    t.match(errors[0], /a redirect, which is not followed/, `${path}: says why`)
  }
  t.equal(elsewhere.hits.size, 0, 'the redirect target was never contacted')
  t.equal(idp.hits.get('/jwks'), undefined, 'not even on the same host')

  // through the app: the IdP's tokens are 401, and Datagate's own still work
  const h = await build(t, { env: { JWKS_URL: `${idp.base}/moved`, JWKS_ISSUER: IDP_ISSUER } })
  const b64u = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const input = `${b64u({ alg: 'ES256', kid: 'good' })}.${b64u({ iss: IDP_ISSUER, aud: h.config.JWT_AUDIENCE, sub: 'x', unit: 'CS', roles: ['consumer'], iat: now, exp: now + 300 })}`
  const token = `${input}.${cryptoSign('sha256', Buffer.from(input), { key: es.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
  const res = await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 401, res.body)
  t.equal(res.headers['content-type'], problemType)
  t.match(res.json(), { code: 'AUTH_TOKEN_INVALID', detail: /identity provider keys unavailable/ })
  t.notMatch(res.body, /127\.0\.0\.1|redirect|jwks/i, 'the problem names no URL')
  t.equal(elsewhere.hits.size, 0)
  t.equal((await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${h.token('consumer')}` } })).statusCode, 200)
})

t.test('a server that trickles its answer is cut off at the deadline, body included', async (t) => {
  const idp = await server(t, {
    '/trickle': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const body = JSON.stringify({ keys: [goodJwk] })
      let i = 0
      const timer = setInterval(() => {
        if (i >= body.length || res.destroyed) { clearInterval(timer); if (!res.destroyed) res.end(); return }
        res.write(body[i++]!)
      }, 50)
      res.on('close', () => clearInterval(timer))
    },
    '/headers-only': (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"keys":[') }
  })
  for (const path of ['/trickle', '/headers-only']) {
    const started = Date.now()
    const { outcome, errors } = await tryKey(`${idp.base}${path}`, 'good', 'ES256', 400)
    const took = Date.now() - started
    t.equal(outcome, 'identity provider keys unavailable', path)
    // the whole trickle would take over ten seconds, and the headers-only answer never ends
    t.ok(took < 5000, `${path}: given up after the 400 ms deadline (${took} ms)`)
    t.match(errors[0], /did not answer within 400 ms/, `${path}: ${errors[0]}`)
  }
})
