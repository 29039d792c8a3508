import { execFile } from 'node:child_process'
import { createHmac, createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import t from 'tap'
import { build, type TestApp } from '../helpers/build.js'
import { cli, repoRoot } from '../helpers/spawn.js'

const problemType = 'application/problem+json; charset=utf-8'
const unit = { code: 'CS', name: 'School of Computer Science', officer: { name: 'Li Wei', contact: 'liwei@example.edu.cn' } }

// ---- tokens built by hand: header.payload.signature, each part base64url ----

type Signer = ((input: Buffer) => Buffer) | null

const b64u = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

function forge (header: object, payload: object, signer: Signer): string {
  const input = `${b64u(header)}.${b64u(payload)}`
  return `${input}.${signer ? signer(Buffer.from(input)).toString('base64url') : ''}`
}

const ed25519 = (key: KeyObject | string): Signer => (input) => cryptoSign(null, input, key)
const es256 = (key: KeyObject | string): Signer => (input) =>
  cryptoSign('sha256', input, { key: typeof key === 'string' ? createPrivateKey(key) : key, dsaEncoding: 'ieee-p1363' })
const hs256 = (secret: string): Signer => (input) => createHmac('sha256', secret).update(input).digest()

const now = () => Math.floor(Date.now() / 1000)

/** What the app's own key signs: its algorithm, its kid, claims valid for ten minutes. */
function own (h: TestApp) {
  const signer = h.key.algorithm === 'EdDSA' ? ed25519(h.key.privatePem) : es256(h.key.privatePem)
  const header = { alg: h.key.algorithm, typ: 'JWT', kid: h.key.kid }
  const claims = (): Record<string, unknown> => ({
    iss: h.config.JWT_ISSUER,
    aud: h.config.JWT_AUDIENCE,
    sub: 'forger',
    unit: 'OFFICE',
    roles: ['system_admin'],
    iat: now(),
    exp: now() + 600
  })
  return { signer, header, claims }
}

function without (claims: Record<string, unknown>, name: string) {
  const { [name]: _dropped, ...rest } = claims
  return rest
}

async function get (h: TestApp, authorization?: string) {
  return await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: authorization === undefined ? {} : { authorization } })
}

async function post (h: TestApp, authorization: string | undefined, code: string) {
  return await h.app.inject({
    method: 'POST',
    url: '/api/v1/units',
    headers: authorization === undefined ? {} : { authorization },
    payload: { ...unit, code }
  })
}

async function unitCodes (h: TestApp): Promise<string[]> {
  const list = await h.as('consumer', { method: 'GET', url: '/api/v1/units' })
  return list.json().data.map((u: { code: string }) => u.code)
}

t.test('a correct token is accepted, whether built by hand or by the issuer', async (t) => {
  const h = await build(t)
  const { signer, header, claims } = own(h)

  // positive control for the hand-made tokens of the other tests: the same construction, correctly done
  const good = `Bearer ${forge(header, claims(), signer)}`
  const read = await get(h, good)
  t.equal(read.statusCode, 200, read.body)
  t.same(read.json(), { data: [], nextCursor: null })
  const write = await post(h, good, 'HAND')
  t.equal(write.statusCode, 201, write.body)

  const issued = await get(h, `Bearer ${h.token('consumer')}`)
  t.equal(issued.statusCode, 200)
  t.same(issued.json().data.map((u: { code: string }) => u.code), ['HAND'])

  const skewed = await get(h, `Bearer ${forge(header, { ...claims(), iat: now() - 700, exp: now() - 10 }, signer)}`)
  t.equal(skewed.statusCode, 200, `a token that expired 10 s ago is within the ${h.config.JWT_CLOCK_SKEW_S} s clock skew`)
  const early = await get(h, `Bearer ${forge(header, { ...claims(), nbf: now() + 10 }, signer)}`)
  t.equal(early.statusCode, 200, 'nbf 10 s ahead is within the clock skew')

  // the key is chosen by the issuer, not by the header's kid: a correctly signed token is accepted
  // whatever its kid says, or without one (the signature is what proves it is ours)
  const bogusKid = await get(h, `Bearer ${forge({ ...header, kid: 'no-such-key' }, claims(), signer)}`)
  t.equal(bogusKid.statusCode, 200, 'a bogus kid on a correctly signed token is ignored')
  const noKid = await get(h, `Bearer ${forge({ alg: h.key.algorithm }, claims(), signer)}`)
  t.equal(noKid.statusCode, 200, 'a token without kid or typ')

  const audiences = await get(h, `Bearer ${forge(header, { ...claims(), aud: ['elsewhere', h.config.JWT_AUDIENCE] }, signer)}`)
  t.equal(audiences.statusCode, 200, 'aud may be a list that contains ours')

  const lowercase = await get(h, `bearer ${h.token('consumer')}`)
  t.equal(lowercase.statusCode, 200, 'the auth scheme is case-insensitive (RFC 9110 §11.1)')
})

t.test('every token problem is a 401 problem document, and nothing is written', async (t) => {
  const h = await build(t)
  const { signer, header, claims } = own(h)
  const otherEd = generateKeyPairSync('ed25519').privateKey
  const otherEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey

  const cases: [label: string, authorization: string | undefined, code: string, reason: RegExp][] = [
    ['no Authorization header', undefined, 'AUTH_TOKEN_MISSING', /bearer token is required/],
    ['Basic scheme', `Basic ${Buffer.from('admin:admin').toString('base64')}`, 'AUTH_TOKEN_INVALID', /Bearer <JWT>/],
    ['token in a non-Bearer scheme', `Token ${forge(header, claims(), signer)}`, 'AUTH_TOKEN_INVALID', /Bearer <JWT>/],
    ['Bearer without a token', 'Bearer ', 'AUTH_TOKEN_INVALID', /Bearer <JWT>/],
    ['two tokens', `Bearer ${forge(header, claims(), signer)} ${forge(header, claims(), signer)}`, 'AUTH_TOKEN_INVALID', /Bearer <JWT>/],
    ['garbage', 'Bearer not-a-token', 'AUTH_TOKEN_INVALID', /Bearer <JWT>/],
    ['garbage in three parts', 'Bearer aaaa.bbbb.cccc', 'AUTH_TOKEN_INVALID', /malformed/],
    ['header not JSON', `Bearer ${b64u('{"alg":')}.${b64u(claims())}.${b64u('sig')}`, 'AUTH_TOKEN_INVALID', /malformed/],
    ['payload not JSON', `Bearer ${b64u(header)}.${b64u('{"sub":')}.${b64u('sig')}`, 'AUTH_TOKEN_INVALID', /malformed/],
    ['payload a JSON string', `Bearer ${forge(header, 'hello' as unknown as object, signer)}`, 'AUTH_TOKEN_INVALID', /malformed/],
    ['payload a JSON array', `Bearer ${forge(header, [claims()], signer)}`, 'AUTH_TOKEN_INVALID', /malformed/],
    ['signature stripped', `Bearer ${forge(header, claims(), null)}`, 'AUTH_TOKEN_INVALID', /unsigned/],
    ['payload changed after signing', `Bearer ${(() => {
      const [hd, , sig] = forge(header, claims(), signer).split('.')
      return `${hd}.${b64u({ ...claims(), roles: ['steward'] })}.${sig}`
    })()}`, 'AUTH_TOKEN_INVALID', /bad signature/],
    ['signed by another Ed25519 key', `Bearer ${forge({ alg: 'EdDSA', typ: 'JWT', kid: h.key.kid }, claims(), ed25519(otherEd))}`, 'AUTH_TOKEN_INVALID', /bad signature/],
    ['signed by an ES256 key', `Bearer ${forge({ alg: 'ES256', typ: 'JWT', kid: h.key.kid }, claims(), es256(otherEc))}`, 'AUTH_TOKEN_INVALID', /algorithm not allowed/],
    ['HS256 keyed with the public key PEM (algorithm confusion)', `Bearer ${forge({ alg: 'HS256', typ: 'JWT', kid: h.key.kid }, claims(), hs256(h.key.publicPem))}`, 'AUTH_TOKEN_INVALID', /algorithm not allowed/],
    ['HS256 keyed with the public JWK x', `Bearer ${forge({ alg: 'HS256', typ: 'JWT' }, claims(), hs256(h.key.jwk.x!))}`, 'AUTH_TOKEN_INVALID', /algorithm not allowed/],
    ['alg none, unsigned', `Bearer ${forge({ alg: 'none', typ: 'JWT' }, claims(), null)}`, 'AUTH_TOKEN_INVALID', /unsigned/],
    ['alg none with a valid signature', `Bearer ${forge({ alg: 'none', typ: 'JWT' }, claims(), signer)}`, 'AUTH_TOKEN_INVALID', /algorithm not allowed/],
    ['alg missing', `Bearer ${forge({ typ: 'JWT' }, claims(), signer)}`, 'AUTH_TOKEN_INVALID', /algorithm not allowed/],
    ['expired beyond the clock skew', `Bearer ${forge(header, { ...claims(), iat: now() - 700, exp: now() - 60 }, signer)}`, 'AUTH_TOKEN_INVALID', /expired/],
    ['nbf in the future', `Bearer ${forge(header, { ...claims(), nbf: now() + 120 }, signer)}`, 'AUTH_TOKEN_INVALID', /not valid yet/],
    ['exp not a number', `Bearer ${forge(header, { ...claims(), exp: String(now() + 600) }, signer)}`, 'AUTH_TOKEN_INVALID', /claim exp/],
    ['missing exp', `Bearer ${forge(header, without(claims(), 'exp'), signer)}`, 'AUTH_TOKEN_INVALID', /missing claim exp/],
    ['missing sub', `Bearer ${forge(header, without(claims(), 'sub'), signer)}`, 'AUTH_TOKEN_INVALID', /missing claim sub/],
    ['empty sub', `Bearer ${forge(header, { ...claims(), sub: '' }, signer)}`, 'AUTH_TOKEN_INVALID', /sub, unit and roles/],
    ['missing iss', `Bearer ${forge(header, without(claims(), 'iss'), signer)}`, 'AUTH_TOKEN_INVALID', /missing claim iss/],
    ['missing aud', `Bearer ${forge(header, without(claims(), 'aud'), signer)}`, 'AUTH_TOKEN_INVALID', /missing claim aud/],
    ['missing unit', `Bearer ${forge(header, without(claims(), 'unit'), signer)}`, 'AUTH_TOKEN_INVALID', /sub, unit and roles/],
    ['malformed unit', `Bearer ${forge(header, { ...claims(), unit: 'a b/../c' }, signer)}`, 'AUTH_TOKEN_INVALID', /sub, unit and roles/],
    ['missing roles', `Bearer ${forge(header, without(claims(), 'roles'), signer)}`, 'AUTH_TOKEN_INVALID', /sub, unit and roles/],
    ['unknown role', `Bearer ${forge(header, { ...claims(), roles: ['root'] }, signer)}`, 'AUTH_TOKEN_INVALID', /sub, unit and roles/],
    ['a known role beside an unknown one', `Bearer ${forge(header, { ...claims(), roles: ['system_admin', 'root'] }, signer)}`, 'AUTH_TOKEN_INVALID', /sub, unit and roles/],
    ['roles a string, not an array', `Bearer ${forge(header, { ...claims(), roles: 'system_admin' }, signer)}`, 'AUTH_TOKEN_INVALID', /sub, unit and roles/],
    ['roles empty', `Bearer ${forge(header, { ...claims(), roles: [] }, signer)}`, 'AUTH_TOKEN_INVALID', /sub, unit and roles/],
    ['roles repeated', `Bearer ${forge(header, { ...claims(), roles: ['system_admin', 'system_admin'] }, signer)}`, 'AUTH_TOKEN_INVALID', /sub, unit and roles/],
    ['wrong iss', `Bearer ${forge(header, { ...claims(), iss: 'https://evil.example' }, signer)}`, 'AUTH_TOKEN_INVALID', /unknown issuer/],
    ['iss as a list', `Bearer ${forge(header, { ...claims(), iss: [h.config.JWT_ISSUER] }, signer)}`, 'AUTH_TOKEN_INVALID', /issuer/],
    ['wrong aud', `Bearer ${forge(header, { ...claims(), aud: 'another-service' }, signer)}`, 'AUTH_TOKEN_INVALID', /wrong aud/],
    ['two officer roles', `Bearer ${forge(header, { ...claims(), roles: ['system_admin', 'auditor'] }, signer)}`, 'AUTH_TOKEN_INVALID', /system_admin and auditor are separated duties/]
  ]

  for (const [label, authorization, code, reason] of cases) {
    for (const [method, res] of [['GET', await get(h, authorization)], ['POST', await post(h, authorization, 'FORGED')]] as const) {
      t.equal(res.statusCode, 401, `${label}: ${method} is 401`)
      t.equal(res.headers['content-type'], problemType, `${label}: a problem document`)
      const body = res.json()
      t.match(body, { status: 401, code, instance: '/api/v1/units', type: `urn:problem:datagate:${code.toLowerCase().replace(/_/g, '-')}` }, label)
      t.match(body.detail, reason, `${label} says why: ${body.detail}`)
      t.notMatch(res.body, /BEGIN|PRIVATE|-----|at \/|\.[tj]s:/, `${label}: no key material or internals`)
      t.match(res.headers['www-authenticate'], /^Bearer realm="datagate"/, `${label}: WWW-Authenticate (RFC 6750)`)
    }
  }
  t.same(await unitCodes(h), [], 'nothing was written')
})

t.test('the three officers are never one token (R1.2)', async (t) => {
  const h = await build(t)
  const { signer, header, claims } = own(h)
  const refused = [
    ['system_admin', 'security_admin'],
    ['system_admin', 'auditor'],
    ['security_admin', 'auditor'],
    ['auditor', 'system_admin', 'steward'],
    ['system_admin', 'security_admin', 'auditor']
  ]
  for (const roles of refused) {
    const token = `Bearer ${forge(header, { ...claims(), roles }, signer)}`
    const res = await post(h, token, 'TWO')
    t.equal(res.statusCode, 401, roles.join(','))
    t.equal(res.json().code, 'AUTH_TOKEN_INVALID')
    t.match(res.json().detail, /separated duties and cannot be held together/)
    for (const officer of roles.filter((r) => ['system_admin', 'security_admin', 'auditor'].includes(r))) {
      t.match(res.json().detail, officer, `${roles.join(',')}: names ${officer}`)
    }
  }
  t.same(await unitCodes(h), [], 'nothing was written')

  // one officer role beside non-officer roles is fine
  const allowed = await post(h, `Bearer ${forge(header, { ...claims(), roles: ['system_admin', 'steward', 'consumer'] }, signer)}`, 'ONE')
  t.equal(allowed.statusCode, 201, allowed.body)
  t.same(await unitCodes(h), ['ONE'])
})

t.test('an ES256 deployment key accepts its own tokens and no other', async (t) => {
  const h = await build(t, { env: { JWT_ALGORITHM: 'ES256' } })
  t.equal(h.key.algorithm, 'ES256')
  const { signer, header, claims } = own(h)
  t.equal((await get(h, `Bearer ${forge(header, claims(), signer)}`)).statusCode, 200)
  t.equal((await get(h, `Bearer ${h.token('auditor')}`)).statusCode, 200)

  const otherEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey
  const otherEd = generateKeyPairSync('ed25519').privateKey
  const forged = {
    'another P-256 key': forge(header, claims(), es256(otherEc)),
    'an Ed25519 key': forge({ ...header, alg: 'EdDSA' }, claims(), ed25519(otherEd)),
    'HS256 keyed with the public PEM': forge({ ...header, alg: 'HS256' }, claims(), hs256(h.key.publicPem)),
    'a DER (not raw) ECDSA signature': forge(header, claims(), (input) => cryptoSign('sha256', input, h.key.privatePem)),
    'ES384 header on a P-256 signature': forge({ ...header, alg: 'ES384' }, claims(), signer)
  }
  for (const [label, token] of Object.entries(forged)) {
    const res = await post(h, `Bearer ${token}`, 'X')
    t.equal(res.statusCode, 401, label)
    t.equal(res.headers['content-type'], problemType, label)
  }
  t.same(await unitCodes(h), [])
})

function datagate (args: string[], env: Record<string, string>): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'silent', ...env },
      timeout: 30_000
    }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

t.test('a token printed by `datagate token` is accepted by the app of the same data dir', async (t) => {
  const h = await build(t)
  const env = { DATAGATE_DATA_DIR: h.testDb.dataDir }
  const out = await datagate(['token', '--sub', 's', '--unit', 'U1', '--roles', 'consumer', '--ttl', '5m'], env)
  t.equal(out.code, 0, out.stderr)
  t.equal(out.stderr, '')
  const token = out.stdout.trim()
  t.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'one JWT on stdout')

  const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part!, 'base64url').toString()))
  t.match(header, { alg: h.key.algorithm, kid: h.key.kid })
  t.match(payload, { sub: 's', unit: 'U1', roles: ['consumer'], iss: h.config.JWT_ISSUER, aud: h.config.JWT_AUDIENCE })
  t.equal(payload.exp - payload.iat, 300, '--ttl 5m')
  t.ok(Math.abs(payload.iat - now()) < 60)

  const res = await get(h, `Bearer ${token}`)
  t.equal(res.statusCode, 200, res.body)
  const write = await post(h, `Bearer ${token}`, 'NOPE')
  t.equal(write.statusCode, 403, 'a consumer token may read but not write units')
})

t.test('`datagate token` refuses conflicting and unknown roles and a missing --unit', async (t) => {
  const h = await build(t)
  const env = { DATAGATE_DATA_DIR: h.testDb.dataDir }
  const cases: [string, string[], RegExp][] = [
    ['conflicting roles', ['--sub', 's', '--unit', 'U1', '--roles', 'system_admin,auditor'], /system_admin and auditor are separated duties/],
    ['unknown role', ['--sub', 's', '--unit', 'U1', '--roles', 'consumer,root'], /unknown role\(s\): root/],
    ['missing --unit', ['--sub', 's', '--roles', 'consumer'], /--unit/],
    ['malformed --unit', ['--sub', 's', '--unit', 'a b', '--roles', 'consumer'], /--unit/],
    ['ttl beyond the maximum', ['--sub', 's', '--unit', 'U1', '--roles', 'consumer', '--ttl', '400d'], /--ttl must be 1s to 86400s \(JWT_MAX_TTL_S\)/]
  ]
  const results = await Promise.all(cases.map(([, args]) => datagate(['token', ...args], env)))
  cases.forEach(([label, , message], i) => {
    const out = results[i]!
    t.not(out.code, 0, `${label}: non-zero exit`)
    t.equal(out.stdout, '', `${label}: no token printed`)
    t.match(out.stderr, message, `${label}: ${out.stderr.trim()}`)
  })
})
