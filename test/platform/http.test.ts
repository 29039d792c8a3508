import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { Type } from 'typebox'
import { loggerOptions } from '../../src/platform/logging.js'
import { build, createUnit } from '../helpers/build.js'

const problemType = 'application/problem+json; charset=utf-8'

t.test('an unknown route is a 404 problem document', async (t) => {
  const h = await build(t)
  const res = await h.as('consumer', { method: 'GET', url: '/api/v1/nothing-here?x=1' })
  t.equal(res.statusCode, 404)
  t.equal(res.headers['content-type'], problemType)
  t.match(res.json(), { status: 404, code: 'ROUTE_NOT_FOUND', instance: '/api/v1/nothing-here' })
})

t.test('an oversized body is a 413 and writes nothing', async (t) => {
  const h = await build(t, { env: { BODY_LIMIT_BYTES: '2048' } })
  const res = await h.as('system_admin', {
    method: 'POST',
    url: '/api/v1/units',
    payload: { code: 'BIG', name: 'x'.repeat(4000), officer: { name: 'n', contact: 'c' } }
  })
  t.equal(res.statusCode, 413)
  t.equal(res.headers['content-type'], problemType)
  t.equal(res.json().code, 'BODY_TOO_LARGE')
  const list = await h.as('consumer', { method: 'GET', url: '/api/v1/units' })
  t.same(list.json().data, [])
})

t.test('an unsupported content type is a 415 problem', async (t) => {
  const h = await build(t)
  const res = await h.as('system_admin', {
    method: 'POST', url: '/api/v1/units', payload: '<unit/>', headers: { 'content-type': 'application/xml' }
  })
  t.equal(res.statusCode, 415)
  t.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE')
})

t.test('a 500 tells the caller nothing about internals', async (t) => {
  const h = await build(t, {
    extend: (app) => app.get('/api/v1/test-boom', { config: { access: 'authenticated' } }, async () => {
      throw new Error('secret internal detail: relation "x" does not exist at /srv/app.ts:12')
    })
  })
  const res = await h.as('consumer', { method: 'GET', url: '/api/v1/test-boom' })
  t.equal(res.statusCode, 500)
  t.equal(res.headers['content-type'], problemType)
  t.equal(res.json().code, 'INTERNAL')
  t.notMatch(res.body, /secret internal|relation|\.[tj]s\b|stack/)
  t.equal(res.json().requestId, res.headers['x-request-id'])
})

t.test('a route without an access rule under /api/v1 stops the app from starting', async (t) => {
  await t.rejects(build(t, {
    extend: (app) => app.get('/api/v1/forgotten', async () => 'open?')
  }), /declares no access rule/)
})

t.test('the rate limiter answers 429 per caller identity', async (t) => {
  const h = await build(t, { env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' } })
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await h.as('consumer', { method: 'GET', url: '/api/v1/units' }, { sub: 'busy' })).statusCode)
  t.same(statuses, [200, 200, 200, 429])
  const limited = await h.as('consumer', { method: 'GET', url: '/api/v1/units' }, { sub: 'busy' })
  t.equal(limited.headers['content-type'], problemType)
  t.equal(limited.json().code, 'RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) > 0, 'says when to retry')
  const other = await h.as('consumer', { method: 'GET', url: '/api/v1/units' }, { sub: 'quiet' })
  t.equal(other.statusCode, 200, 'another caller is not limited')
  const probe = await h.app.inject({ method: 'GET', url: '/health/live' })
  t.equal(probe.statusCode, 200, 'probes are not limited')
})

t.test('security headers are set on every response', async (t) => {
  const h = await build(t)
  for (const url of ['/api/v1/units', '/health/live', '/nope']) {
    const res = await h.as('consumer', { method: 'GET', url })
    t.equal(res.headers['x-content-type-options'], 'nosniff', url)
    t.match(res.headers['strict-transport-security'], /max-age=/, url)
    t.equal(res.headers['x-frame-options'], 'SAMEORIGIN', url)
    t.ok(res.headers['content-security-policy'], url)
    t.notOk(res.headers['x-powered-by'], url)
  }
})

t.test('X-Request-Id is echoed when safe and made up otherwise', async (t) => {
  const h = await build(t)
  const given = await h.as('consumer', { method: 'GET', url: '/api/v1/units', headers: { 'x-request-id': 'abc-123.def' } })
  t.equal(given.headers['x-request-id'], 'abc-123.def')
  const hostile = await h.as('consumer', { method: 'GET', url: '/api/v1/units', headers: { 'x-request-id': 'a b\n{"level":60}' } })
  t.match(hostile.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a header unsafe to log is replaced')
  const problem = await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: { 'x-request-id': 'trace-42' } })
  t.equal(problem.statusCode, 401)
  t.equal(problem.json().requestId, 'trace-42', 'problem documents carry it too')
})

t.test('health, metrics and docs', async (t) => {
  const h = await build(t)
  t.same((await h.app.inject({ method: 'GET', url: '/health/live' })).json(), { status: 'ok', service: 'all' })
  t.same((await h.app.inject({ method: 'GET', url: '/health/ready' })).json(), { status: 'ok', service: 'all', database: 'ok' })

  await createUnit(h, 'CS')
  await h.as('consumer', { method: 'GET', url: '/api/v1/units/CS' })
  await h.as('consumer', { method: 'GET', url: '/api/v1/units/NONE' })
  const metrics = await h.app.inject({ method: 'GET', url: '/metrics' })
  t.equal(metrics.statusCode, 200)
  t.match(metrics.headers['content-type'], /^text\/plain/)
  t.match(metrics.body, /datagate_http_requests_total\{method="GET",route="\/api\/v1\/units\/:code",status="200",service="all"\} 1/)
  t.match(metrics.body, /datagate_http_requests_total\{method="GET",route="\/api\/v1\/units\/:code",status="404",service="all"\} 1/)
  t.match(metrics.body, /datagate_http_request_duration_seconds_bucket\{le="0.005",service="all",method="POST",route="\/api\/v1\/units"\}/)
  t.match(metrics.body, /process_resident_memory_bytes/)
  if (h.database.kind === 'postgres') t.match(metrics.body, /datagate_db_pool_connections\{state="total",service="all"\}/)

  const docs = await h.app.inject({ method: 'GET', url: '/docs/' })
  t.equal(docs.statusCode, 200)
  t.match(docs.body, /swagger/i)
  const spec = await h.app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(spec.json().openapi, '3.1.0')
  t.ok(spec.json().paths['/api/v1/units'])
})

t.test('a request past its deadline answers 503', async (t) => {
  const h = await build(t, {
    env: { REQUEST_TIMEOUT_MS: '500' },
    extend: (app) => app.get('/api/v1/test-slow', { config: { access: 'authenticated' } }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 10_000).unref())
      return { late: true }
    })
  })
  const started = Date.now()
  const res = await h.as('consumer', { method: 'GET', url: '/api/v1/test-slow' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'DEADLINE_EXCEEDED')
  t.ok(Date.now() - started < 8000, 'answered at the deadline, not when the work ended (10 s)')
})

t.test('logs carry no token, secret or query string', async (t) => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _enc, done) { lines.push(chunk.toString()); done() } })
  const logger = pino({ ...(loggerOptions('info') as pino.LoggerOptions), transport: undefined }, sink)
  const h = await build(t, {
    logger,
    extend: (app) => app.post('/api/v1/test-echo', {
      config: { access: 'authenticated' },
      schema: { body: Type.Object({ password: Type.String() }) }
    }, async (request) => {
      request.log.info({ body: request.body, token: 'tok-abc' }, 'handler saw a body')
      return { ok: true }
    })
  })
  const token = h.token('consumer')
  await h.app.inject({ method: 'GET', url: '/api/v1/units?q=110101199003071234', headers: { authorization: `Bearer ${token}` } })
  await h.app.inject({ method: 'POST', url: '/api/v1/test-echo', payload: { password: 'hunter2' }, headers: { authorization: `Bearer ${token}` } })
  await h.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload: { grant_type: 'client_credentials', client_id: 'dgc_xxxxxxxxxxxxxxxxxxxx', client_secret: 'sup3r-secret' } })
  const log = lines.join('')
  t.match(log, /"path":"\/api\/v1\/units"/, 'requests are logged')
  t.notMatch(log, token.split('.')[2]!, 'no token')
  t.notMatch(log, /110101199003071234/, 'no query string')
  t.notMatch(log, /hunter2/, 'no password')
  t.notMatch(log, /tok-abc/, 'no token field')
  t.notMatch(log, /sup3r-secret/, 'no client secret')
})
