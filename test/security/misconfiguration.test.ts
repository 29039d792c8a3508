/**
 * OWASP API8:2023 security misconfiguration: security headers on every kind of answer (API, problem
 * documents, open data, docs, probes), nothing cached that belongs to one caller, no internals in
 * 5xx answers, the Swagger UI only where the configuration allows it, no CORS grants, and no
 * TRACE or unknown methods. test/platform/http.test.ts checks the basic headers and one 500;
 * test/platform/https.test.ts the TLS set-up.
 */
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { build, type TestApp } from '../helpers/build.js'
import { dataFixture, MATH_READER } from '../helpers/data.js'

const problemType = 'application/problem+json; charset=utf-8'
type Headers = Record<string, string | string[] | number | undefined>

function hardened (t: Test, headers: Headers, label: string) {
  const hsts = String(headers['strict-transport-security'] ?? '')
  t.ok(Number(/max-age=(\d+)/.exec(hsts)?.[1]) >= 15_552_000, `${label}: HSTS of at least 180 days (${hsts})`)
  t.match(hsts, /includeSubDomains/, `${label}: HSTS covers subdomains`)
  t.equal(headers['x-content-type-options'], 'nosniff', `${label}: nosniff`)
  t.match(headers['x-frame-options'], /^(SAMEORIGIN|DENY)$/, `${label}: framing refused`)
  const csp = String(headers['content-security-policy'] ?? '')
  t.match(csp, /default-src 'self'/, `${label}: CSP default-src 'self'`)
  t.match(csp, /frame-ancestors 'self'|frame-ancestors 'none'/, `${label}: CSP frame-ancestors`)
  t.match(csp, /object-src 'none'/, `${label}: CSP object-src 'none'`)
  t.equal(headers['x-powered-by'], undefined, `${label}: no X-Powered-By`)
  t.equal(headers.server, undefined, `${label}: no Server banner`)
  t.match(headers['referrer-policy'], /no-referrer/, `${label}: Referrer-Policy`)
  t.equal(headers['access-control-allow-origin'], undefined, `${label}: no CORS grant`)
  t.ok(headers['x-request-id'], `${label}: X-Request-Id`)
}

/** Answers of every kind, from one app: JSON, problem documents, open data, CSV, data reads, probes. */
t.test('security headers on API, problem, open-data, docs and probe answers; no-store on everything under /api/v1', async (t) => {
  const h = await build(t, {
    extend: (app) => app.get('/api/v1/test-boom', { config: { access: 'authenticated' } }, async () => { throw new Error('boom') })
  })
  await dataFixture(h, 5)
  const origin = { origin: 'https://evil.example' }
  const answers: [label: string, res: Awaited<ReturnType<TestApp['as']>>, status: number, noStore: boolean][] = [
    ['API JSON', await h.as('consumer', { method: 'GET', url: '/api/v1/units', headers: origin }), 200, true],
    ['data read (JSON)', await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records', headers: origin }, MATH_READER), 200, true],
    ['data read (CSV)', await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records?format=csv', headers: origin }, MATH_READER), 200, true],
    ['401 problem', await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: origin }), 401, true],
    ['403 problem', await h.as('consumer', { method: 'POST', url: '/api/v1/units', payload: {}, headers: origin }), 403, true],
    ['400 problem', await h.as('consumer', { method: 'GET', url: '/api/v1/units?limit=0', headers: origin }), 400, true],
    ['404 problem (no route)', await h.as('consumer', { method: 'GET', url: '/api/v1/nothing', headers: origin }), 404, true],
    ['413 problem', await h.as('system_admin', { method: 'POST', url: '/api/v1/units', payload: Buffer.alloc(h.config.BODY_LIMIT_BYTES + 1, 'a'), headers: { ...origin, 'content-type': 'application/json' } }), 413, true],
    ['415 problem', await h.as('system_admin', { method: 'POST', url: '/api/v1/units', payload: '<x/>', headers: { ...origin, 'content-type': 'application/xml' } }), 415, true],
    ['500 problem', await h.as('consumer', { method: 'GET', url: '/api/v1/test-boom', headers: origin }), 500, true],
    ['open catalog', await h.app.inject({ method: 'GET', url: '/open/v1/catalog', headers: origin }), 200, false],
    ['open records (404 problem)', await h.app.inject({ method: 'GET', url: '/open/v1/datasets/students/records', headers: origin }), 404, false],
    ['OpenAPI document', await h.app.inject({ method: 'GET', url: '/openapi.json', headers: origin }), 200, false],
    ['Swagger UI', await h.app.inject({ method: 'GET', url: '/docs/', headers: origin }), 200, false],
    ['probe', await h.app.inject({ method: 'GET', url: '/health/ready', headers: origin }), 200, false],
    ['metrics', await h.app.inject({ method: 'GET', url: '/metrics', headers: origin }), 200, false]
  ]
  for (const [label, res, status, noStore] of answers) {
    t.equal(res.statusCode, status, `${label}: ${res.statusCode}`)
    hardened(t, res.headers, label)
    if (status >= 400) t.equal(res.headers['content-type'], problemType, `${label}: a problem document`)
    if (noStore) t.equal(res.headers['cache-control'], 'no-store', `${label}: Cache-Control: no-store`)
  }
  t.ok(answers[1]![1].json().data.length > 0, 'the data read returned rows')
})

t.test('5xx answers tell nothing of internals, whatever was thrown', async (t) => {
  const secret = 'secret internal: relation "grants" at /srv/datagate/src/x.ts:12 password=hunter2 10.0.0.5'
  const throwers: Record<string, () => unknown> = {
    'an Error': () => { throw new Error(secret) },
    'a TypeError from code': () => (undefined as unknown as { x: { y: string } }).x.y,
    'a string': () => { throw secret },
    'an object with a message': () => { throw Object.assign(Object.create(null), { message: secret }) },
    'an error claiming 502': () => { throw Object.assign(new Error(secret), { statusCode: 502 }) },
    'a library error claiming 503': () => { throw Object.assign(new Error(secret), { statusCode: 503, code: 'ECONNRESET' }) },
    'an error with a status below 400': () => { throw Object.assign(new Error(secret), { statusCode: 302 }) },
    'a rejected promise': async () => await Promise.reject(new Error(secret))
  }
  const h = await build(t, {
    extend: (app) => {
      Object.values(throwers).forEach((fn, i) => app.get(`/api/v1/test-throw-${i}`, { config: { access: 'authenticated' } }, async () => await fn()))
    }
  })
  for (const [i, label] of Object.keys(throwers).entries()) {
    const res = await h.as('consumer', { method: 'GET', url: `/api/v1/test-throw-${i}` })
    t.ok(res.statusCode === 500 || res.statusCode === 503, `${label}: ${res.statusCode}`)
    t.equal(res.headers['content-type'], problemType, label)
    t.match(res.json(), { status: res.statusCode, requestId: res.headers['x-request-id'] }, label)
    t.notMatch(res.body, /secret|relation|\/srv|\.ts|hunter2|10\.0\.0\.5|stack|ECONNRESET|TypeError|undefined/, `${label}: nothing of the error leaks (${res.body})`)
    if (res.statusCode === 503) t.equal(res.headers['retry-after'], '1', `${label}: says when to retry`)
  }
})

t.test('/docs follows DOCS_ENABLED; the OpenAPI document stays available', async (t) => {
  for (const [env, served] of [[{}, true], [{ DOCS_ENABLED: 'false' }, false]] as const) {
    const h = await build(t, { env })
    const label = `DOCS_ENABLED=${(env as { DOCS_ENABLED?: string }).DOCS_ENABLED ?? '(default)'}`
    t.equal(h.config.DOCS_ENABLED, served, label)
    for (const url of ['/docs', '/docs/', '/docs/static/index.html', '/docs/json']) {
      const res = await h.app.inject({ method: 'GET', url })
      if (served) t.ok(res.statusCode < 400, `${label}: ${url} is served (${res.statusCode})`)
      else {
        t.equal(res.statusCode, 404, `${label}: ${url} is not served`)
        t.equal(res.headers['content-type'], problemType, `${label}: ${url}`)
        t.notMatch(res.body, /swagger/i, `${label}: ${url}`)
      }
    }
    const spec = await h.app.inject({ method: 'GET', url: '/openapi.json' })
    t.equal(spec.statusCode, 200, `${label}: /openapi.json (the public contract) is served`)
  }
})

t.test('CORS is not granted to any origin; TRACE, unknown methods and method overrides are refused', async (t) => {
  const h = await build(t)
  for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:3000']) {
    const preflight = await h.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/units',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' }
    })
    t.equal(preflight.statusCode, 404, `${origin}: a preflight finds no route`)
    t.equal(preflight.headers['access-control-allow-origin'], undefined, origin)
    t.equal(preflight.headers['access-control-allow-credentials'], undefined, origin)
    t.equal(preflight.headers['access-control-allow-methods'], undefined, origin)
    const simple = await h.as('consumer', { method: 'GET', url: '/api/v1/units', headers: { origin } })
    t.equal(simple.statusCode, 200)
    t.equal(simple.headers['access-control-allow-origin'], undefined, `${origin}: an answer grants no origin`)
    const open = await h.app.inject({ method: 'GET', url: '/open/v1/catalog', headers: { origin } })
    t.equal(open.headers['access-control-allow-origin'], undefined, `${origin}: open data grants no origin either`)
  }

  // TRACE, unknown methods and method overrides are refused
  const token = h.token('system_admin')
  for (const method of ['TRACE', 'CONNECT', 'PROPFIND', 'PATCH', 'DELETE'] as const) {
    const res = await h.app.inject({ method, url: '/api/v1/units', headers: { authorization: `Bearer ${token}`, 'x-secret-probe': 'echo-me' } })
    t.ok(res.statusCode === 404 || res.statusCode === 405, `${method} /api/v1/units: ${res.statusCode}`)
    t.notMatch(res.body, /echo-me|Bearer/, `${method}: the request is not echoed`)
  }
  const override = await h.app.inject({
    method: 'POST', url: '/api/v1/units', headers: { authorization: `Bearer ${token}`, 'x-http-method-override': 'DELETE', 'x-method-override': 'DELETE' }, payload: { code: 'OV', name: 'override', officer: { name: 'n', contact: 'c' } }
  })
  t.equal(override.statusCode, 201, 'a method-override header is ignored: the POST stays a POST')

  // on the wire, where Node parses the method
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = h.app.server.address() as AddressInfo
  const raw = (method: string) => new Promise<{ status: number, body: string }>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path: '/api/v1/units', agent: false, headers: { authorization: `Bearer ${token}`, 'x-secret-probe': 'echo-me' } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', () => resolve({ status: 0, body: '' })) // the server may just close the connection
    req.end()
  })
  for (const method of ['TRACE', 'TRACK', 'DEBUG', 'FOO']) {
    const res = await raw(method)
    t.ok(res.status === 0 || (res.status >= 400 && res.status < 500), `${method} on the wire: ${res.status}`)
    t.notMatch(res.body, /echo-me|Bearer/, `${method} on the wire: the request is not echoed`)
  }
  t.equal((await raw('GET')).status, 200, 'control: GET on the wire works')
})
