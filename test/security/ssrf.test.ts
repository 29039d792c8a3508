/**
 * OWASP API7:2023 server-side request forgery. Datagate makes three kinds of outbound connection,
 * all to addresses from its configuration, never from a request: the campus IdP's JWKS (JWKS_URL),
 * the services behind the distributed gateway (CATALOG_URL, AUTHORIZATION_URL, MASKING_URL,
 * AUDIT_URL) and PostgreSQL (DATABASE_URL). The first test proves the source holds no other call
 * site; the others send a trap listener's address in every string a route takes, in token headers
 * (jku, x5u) and in gateway paths, and check that nothing ever connects to it.
 */
import { createServer as createHttpServer, type Server } from 'node:http'
import { connect, createServer, type AddressInfo } from 'node:net'
import { generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { ROLES, type Role } from '../../src/platform/auth/roles.js'
import { build, type TestContext } from '../helpers/build.js'
import { repoRoot } from '../helpers/spawn.js'

const root = repoRoot

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

/** Modules that can open a connection, and what each allowed file may take from them. */
const NETWORK_MODULES = /^(node:)?(http|https|http2|net|tls|dgram|dns|child_process)$|^(undici|axios|got|node-fetch|superagent|request|ws|pg|postgres|@fastify\/http-proxy|@fastify\/reply-from|get-jwks)$/
const ALLOWED_IMPORTS: { file: string, module: string, names: string, why: string }[] = [
  { file: 'src/db/create-db.ts', module: 'pg', names: 'pg', why: 'PostgreSQL at DATABASE_URL' },
  { file: 'src/gateway/plugin.ts', module: '@fastify/http-proxy', names: 'proxy', why: 'the services at CATALOG_URL…AUDIT_URL' },
  { file: 'src/platform/problem.ts', module: 'node:http', names: '{ STATUS_CODES }', why: 'status texts only' },
  { file: 'src/server.ts', module: 'node:tls', names: '{ createSecureContext }', why: 'the server\'s own certificate' },
  { file: 'src/platform/auth/blocklist.ts', module: 'node:net', names: '{ BlockList, isIP }', why: 'address arithmetic' },
  { file: 'src/platform/auth/terminal-control.ts', module: 'node:net', names: '{ BlockList, isIP }', why: 'address arithmetic: the addresses a service client may call from' },
  { file: 'src/audit/blacklist/service.ts', module: 'node:net', names: '{ BlockList, isIP }', why: 'address arithmetic' },
  { file: 'src/masking/formats.ts', module: 'node:net', names: '{ isIPv4, isIPv6 }', why: 'address syntax' }
]
const key = (a: { file: string, module: string, names: string }) => `${a.file} imports ${a.names} from ${a.module}`

t.test('the only outbound-request call sites in src/ are the allow-listed ones, all fed from configuration', async (t) => {
  const files = sourceFiles(join(root, 'src'))
  t.ok(files.length > 50, `${files.length} source files read`)
  const imports: string[] = []
  const fetches: string[] = []
  for (const file of files) {
    const name = relative(root, file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^import\s+(?:type\s+)?(.+?)\s+from\s+'([^']+)'/gm)) {
      const [, names, module] = m as unknown as [string, string, string]
      if (NETWORK_MODULES.test(module)) imports.push(key({ file: name, module, names }))
    }
    t.notMatch(text, /\bimport\(\s*['"](node:)?(http|https|net|tls|undici)['"]/, `${name}: no dynamic import of a network module`)
    t.notMatch(text, /\brequire\(/, `${name}: no require()`)
    // global fetch (a method called fetch on an object, like reader.fetch, is not one)
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '')
    for (const m of code.matchAll(/(?<![.\w]|function\s)fetch\s*\(/g)) fetches.push(`${name}@${m.index}`)
    t.notMatch(text, /\bnew\s+(WebSocket|XMLHttpRequest|EventSource)\b/, `${name}: no other client`)
  }
  t.same(fetches.map((f) => f.split('@')[0]), ['src/platform/auth/jwks.ts'], 'global fetch appears once: the JWKS resolver')
  t.same(imports.sort(), ALLOWED_IMPORTS.map(key).sort(), 'network modules are imported where allow-listed, for what is listed, and nowhere else')
  // where the addresses come from
  const jwks = readFileSync(join(root, 'src/platform/auth/jwks.ts'), 'utf8')
  t.match(jwks, /await fetch\(url, \{/, 'the JWKS fetch takes the resolver\'s url option')
  t.match(jwks, /redirect: 'manual'/, 'and follows no redirect')
  const callers = files.filter((f) => /createJwksResolver\(/.test(readFileSync(f, 'utf8')) && !f.endsWith('jwks.ts'))
  t.same(callers.map((f) => relative(root, f)), ['src/platform/auth/plugin.ts'], 'one place makes a JWKS resolver')
  t.match(readFileSync(join(root, 'src/platform/auth/plugin.ts'), 'utf8'), /createJwksResolver\(\{\s*url: config\.JWKS_URL,/, 'with JWKS_URL from the configuration')
  t.match(readFileSync(join(root, 'src/gateway/plugin.ts'), 'utf8'), /const upstream = config\[SERVICE_URL_VARIABLES\[service\]\]!/, 'the gateway proxies to configured services only')
  t.match(readFileSync(join(root, 'src/db/create-db.ts'), 'utf8'), /DATABASE_URL|connectionString/, 'PostgreSQL from DATABASE_URL')
})

// ---- a trap: a TCP listener that counts connections ----

interface Trap { url: string, host: string, connections: number }

async function trap (t: TestContext): Promise<Trap> {
  const state = { connections: 0 } as Trap
  const server = createServer((socket) => { state.connections++; socket.destroy() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  state.host = `127.0.0.1:${port}`
  state.url = `http://${state.host}/jwks.json`
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return state
}

/** A JWKS server for the configured identity provider (the one legitimate outbound call). */
async function idp (t: TestContext, jwk: Record<string, unknown>) {
  const state = { hits: 0, url: '' }
  const server: Server = createHttpServer((_req, res) => {
    state.hits++
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
  t.teardown(() => { server.closeAllConnections(); return new Promise((resolve) => server.close(resolve)) })
  return state
}

type Schema = Record<string, unknown>
interface Operation { parameters?: { name: string, in: string, schema?: Schema }[], requestBody?: { content: Record<string, { schema: Schema }> }, description?: string }

/** An instance of a JSON schema in which every free string is the trap's address. */
function instance (schema: Schema | undefined, url: string, depth = 0, name = ''): unknown {
  if (!schema || depth > 8) return url
  if (Array.isArray(schema.enum)) return schema.enum[0]
  if (typeof schema !== 'object') return url
  if ('const' in schema) return schema.const
  const choices = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined
  if (choices) return instance(choices.find((c) => c.type !== 'null') ?? choices[0], url, depth + 1, name)
  const type = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>
      const out: Record<string, unknown> = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, instance(v, url, depth + 1, k)]))
      if (Object.keys(properties).length === 0 && schema.additionalProperties) out.link = instance(schema.additionalProperties as Schema, url, depth + 1)
      return out
    }
    case 'array': return Array.from({ length: Math.max(1, Number(schema.minItems ?? 1)) }, () => instance(schema.items as Schema, url, depth + 1, name))
    case 'integer': case 'number': return schema.minimum ?? schema.default ?? 1
    case 'boolean': return true
    case 'null': return null
    case 'string':
      // ends in the future, starts in the past
      if (schema.format === 'date-time') return new Date(Date.now() + (/expires|until|to$|end/i.test(name) ? 30 : -1) * 86_400_000).toISOString()
      if (schema.format === 'date') return '2026-01-01'
      if (schema.format === 'uuid') return '3a7c1e52-9d0b-4f6e-8a21-5b4c3d2e1f00'
      // where the address cannot pass the pattern, a valid value lets the rest of the request through
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(url)) {
        return (schema.examples as unknown[] | undefined)?.[0] ?? schema.example ?? 'X'
      }
      return url
    default: return url
  }
}

const roleFor = (op: Operation): Role => {
  const named = /Requires role `([a-z_]+)`/.exec(op.description ?? '')?.[1]
  return named && (ROLES as readonly string[]).includes(named) ? named as Role : 'consumer'
}

const b64u = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

t.test('no route connects to an address it is given: every free string of every operation is the trap\'s URL', async (t) => {
  const bait = await trap(t)
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const provider = await idp(t, { ...publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'ES256', use: 'sig' })
  const h = await build(t, { env: { JWKS_URL: provider.url, JWKS_ISSUER: 'https://idp.example.edu.cn', PUBLIC_BASE_URL: 'https://data.example.edu.cn' } })
  const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Operation>> }

  const statuses = new Map<number, number>()
  let sent = 0
  const requests: { path: string, method: string, op: Operation, url: string }[] = []
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      // path parameters as their schema wants them (a valid id or code, or the address where it may be one)
      const params = Object.fromEntries((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => [p.name, String(instance(p.schema, bait.url))]))
      requests.push({ path, method, op, url: path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? 'X')) })
    }
  }
  for (const { path, method, op, url } of requests) {
    const query: Record<string, string> = {}
    for (const p of op.parameters ?? []) {
      if (p.in === 'query' && p.name !== 'cursor') query[p.name] = String(instance(p.schema, bait.url, 0, p.name))
    }
    const content = op.requestBody?.content ?? {}
    const bodies: { type: string, payload: string }[] = []
    if (content['application/json']) bodies.push({ type: 'application/json', payload: JSON.stringify(instance(content['application/json'].schema, bait.url)) })
    if (content['text/csv']) bodies.push({ type: 'text/csv', payload: `link,url\r\n${Array.from({ length: 120 }, (_, i) => `${i},${bait.url}`).join('\r\n')}\r\n` })
    if (content['application/x-ndjson']) bodies.push({ type: 'application/x-ndjson', payload: `{"link":"${bait.url}"}\n` })
    if (bodies.length === 0) bodies.push({ type: '', payload: '' })
    for (const body of bodies) {
      const headers: Record<string, string> = {
        ...(body.type ? { 'content-type': body.type } : {}),
        // addresses a careless service might call back: none of them is ever used to connect
        'x-forwarded-host': bait.host,
        forwarded: `host=${bait.host}`,
        referer: bait.url,
        origin: `http://${bait.host}`
      }
      const request = { method: method.toUpperCase() as 'GET', url, query, headers, ...(body.type ? { payload: body.payload } : {}) }
      const res = path.startsWith('/api/v1/') && path !== '/api/v1/auth/token' && path !== '/api/v1/open-requests'
        ? await h.as(roleFor(op), request, { unit: 'CS', sub: 'prober' })
        : await h.app.inject(request)
      t.ok(res.statusCode < 500, `${method.toUpperCase()} ${url} ${body.type}: ${res.statusCode}`)
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      sent++
    }
  }
  t.ok(sent > 80, `${sent} requests sent (statuses ${JSON.stringify(Object.fromEntries(statuses))})`)
  t.ok((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) > 5, 'some of them were accepted, not only refused by validation')

  // token headers that name where keys are (RFC 7515 jku, x5u): never followed, for either issuer
  const sign = (header: object, payload: object) => {
    const input = `${b64u(header)}.${b64u(payload)}`
    return `${input}.${cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
  }
  const claims = (iss: string) => ({ iss, aud: h.config.JWT_AUDIENCE, sub: 'x', unit: 'CS', roles: ['consumer'], iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 })
  for (const iss of [h.config.JWT_ISSUER, 'https://idp.example.edu.cn']) {
    for (const header of [
      { alg: 'ES256', kid: 'attacker', jku: bait.url },
      { alg: 'ES256', kid: 'attacker', x5u: bait.url },
      { alg: 'ES256', jwk: { ...publicKey.export({ format: 'jwk' }) }, jku: bait.url }
    ]) {
      const res = await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${sign(header, claims(iss))}` } })
      t.equal(res.statusCode, 401, `${iss}, ${Object.keys(header).join('+')}: refused`)
    }
  }
  const legit = await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { authorization: `Bearer ${sign({ alg: 'ES256', kid: 'idp-1' }, claims('https://idp.example.edu.cn'))}` } })
  t.equal(legit.statusCode, 200, 'control: a token of the configured IdP is accepted')
  t.ok(provider.hits >= 1, 'control: the configured JWKS was fetched')

  await sleep(300) // anything started in the background has had time to connect
  t.equal(bait.connections, 0, 'nothing connected to the trap')
  // control: the trap does count connections
  await new Promise<void>((resolve) => connect(Number(bait.host.split(':')[1]), '127.0.0.1').on('close', () => resolve()).on('error', () => resolve()))
  await sleep(50)
  t.equal(bait.connections, 1, 'control: a connection is counted')
})

t.test('the distributed gateway forwards only to its configured services, whatever the path says', async (t) => {
  const bait = await trap(t)
  const seen: string[] = []
  const service = createHttpServer((req, res) => {
    seen.push(req.url ?? '')
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[],"nextCursor":null}')
  })
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { service.closeAllConnections(); return new Promise((resolve) => service.close(resolve)) })
  const upstream = `http://127.0.0.1:${(service.address() as AddressInfo).port}`
  const h = await build(t, {
    mode: 'gateway',
    env: { CATALOG_URL: upstream, AUTHORIZATION_URL: upstream, MASKING_URL: upstream, AUDIT_URL: upstream, DATAGATE_MASTER_KEY: randomBytes(32).toString('hex') }
  })

  const paths = [
    `/api/v1/units//${bait.host}/x`,
    `/api/v1/units/http://${bait.host}/x`,
    `/api/v1/units/${encodeURIComponent(`http://${bait.host}/x`)}`,
    `/api/v1/units/..%2F..%2F${bait.host}`,
    `/api/v1/units/@${bait.host}/x`,
    `/api/v1/units?url=http://${bait.host}/`,
    `/api/v1/masking/%2F%2F${bait.host}%2Fx`
  ]
  for (const url of paths) {
    const res = await h.as('consumer', { method: 'GET', url, headers: { host: bait.host, 'x-forwarded-host': bait.host } })
    t.ok(res.statusCode < 500, `${url}: ${res.statusCode}`)
  }
  const control = await h.as('consumer', { method: 'GET', url: '/api/v1/units' })
  t.equal(control.statusCode, 200, 'control: the gateway forwards to the configured service')
  t.ok(seen.length >= 1, `the configured service got the forwarded requests (${seen.length})`)
  await sleep(200)
  t.equal(bait.connections, 0, 'nothing connected to the trap')
})
