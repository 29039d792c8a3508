// Database faults: what the service does when PostgreSQL kills, blocks or freezes its connections.
// Every fault must end in a 503 the caller can retry (never a 500, never a hang, never a crash), and
// the service must recover by itself once the database is back.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js'
import { isBrokenConnection, isDatabaseUnavailable, markConnectFailure } from '../../src/db/faults.js'
import { dataPathOf } from '../../src/gateway/data/plugin.js'
import { exportsOf } from '../../src/gateway/exports/plugin.js'
import { loadSigningKey } from '../../src/platform/auth/keys.js'
import { campusToday } from '../../src/platform/calendar.js'
import { createTokenIssuer } from '../../src/platform/auth/token.js'
import { build, testConfig } from '../helpers/build.js'
import { dataFixture, MATH_READER } from '../helpers/data.js'
import { TEST_DATABASE_URL, adminQuery, freshDatabase, silent, type TestDatabase } from '../helpers/database.js'

const needsPostgres = TEST_DATABASE_URL ? false : 'needs PostgreSQL (TEST_DATABASE_URL)'

/** An error as pg raises it for an ErrorResponse of the server. */
function pgError (code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR' })
}

t.test('faults.ts tells unavailable databases and broken connections from ordinary errors', async (t) => {
  const cases: [string, unknown, { broken: boolean, unavailable: boolean }][] = [
    // the connection is gone: discard it, answer 503
    ['backend terminated (57P01)', pgError('57P01', 'terminating connection due to administrator command'), { broken: true, unavailable: true }],
    ['server crashed (57P02)', pgError('57P02', 'terminating connection because of crash of another server process'), { broken: true, unavailable: true }],
    ['server starting up (57P03)', pgError('57P03', 'the database system is starting up'), { broken: true, unavailable: true }],
    ['idle-in-transaction timeout (25P03)', pgError('25P03', 'terminating connection due to idle-in-transaction timeout'), { broken: true, unavailable: true }],
    ['connection failure (08006)', pgError('08006', 'connection failure'), { broken: true, unavailable: true }],
    ['too many clients (53300)', pgError('53300', 'sorry, too many clients already'), { broken: true, unavailable: true }],
    ['socket closed under a query', new Error('Connection terminated unexpectedly'), { broken: true, unavailable: true }],
    ['connect timed out', new Error('Connection terminated due to connection timeout'), { broken: true, unavailable: true }],
    ['frozen server (client-side query timeout)', new Error('Query read timeout'), { broken: true, unavailable: true }],
    ['a client after a connection error', new Error('Client has encountered a connection error and is not queryable'), { broken: true, unavailable: true }],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111 }), { broken: true, unavailable: true }],
    ['connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), { broken: true, unavailable: true }],
    ['broken pipe', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), { broken: true, unavailable: true }],
    // the connection is fine, the database is busy: answer 503, keep the connection
    ['DNS failure', Object.assign(new Error('getaddrinfo ENOTFOUND db.example'), { code: 'ENOTFOUND' }), { broken: true, unavailable: true }],
    // any error while connecting: no query could run (the database not accepting connections…)
    ['connect failure', markConnectFailure(pgError('55000', 'database "x" is not currently accepting connections')), { broken: false, unavailable: true }],
    ['connect failure: wrong password', markConnectFailure(pgError('28P01', 'password authentication failed for user "datagate"')), { broken: false, unavailable: true }],
    ['the same error outside connecting', pgError('55000', 'database "x" is not currently accepting connections'), { broken: false, unavailable: false }],
    ['statement timeout (57014)', pgError('57014', 'canceling statement due to statement timeout'), { broken: false, unavailable: true }],
    ['pool exhausted', new Error('timeout exceeded when trying to connect'), { broken: false, unavailable: true }],
    // the request's own fault or a bug: neither
    ['unique violation (23505)', pgError('23505', 'duplicate key value violates unique constraint "units_pkey"'), { broken: false, unavailable: false }],
    ['undefined table (42P01)', pgError('42P01', 'relation "nothing" does not exist'), { broken: false, unavailable: false }],
    ['syntax error (42601)', pgError('42601', 'syntax error at or near "selec"'), { broken: false, unavailable: false }],
    ['serialization failure (40001)', pgError('40001', 'could not serialize access due to concurrent update'), { broken: false, unavailable: false }],
    ['a file missing in a route is no database fault', Object.assign(new Error('ENOENT: no such file or directory, open \'x\''), { code: 'ENOENT' }), { broken: false, unavailable: false }],
    ['a plain bug', new TypeError('Cannot read properties of undefined (reading \'code\')'), { broken: false, unavailable: false }],
    ['an http error code is not a socket error', Object.assign(new Error('not found'), { code: 'NOT_FOUND', statusCode: 404 }), { broken: false, unavailable: false }],
    ['a message merely mentioning a timeout', new Error('the token has a timeout exceeded claim'), { broken: false, unavailable: false }],
    ['not an error at all', undefined, { broken: false, unavailable: false }],
    ['a string', 'Connection terminated', { broken: false, unavailable: false }],
    ['a numeric code', Object.assign(new Error('x'), { code: 57014 }), { broken: false, unavailable: false }]
  ]
  for (const [label, err, expected] of cases) {
    t.equal(isBrokenConnection(err), expected.broken, `${label}: broken connection ${expected.broken ? 'yes' : 'no'}`)
    t.equal(isDatabaseUnavailable(err), expected.unavailable, `${label}: database unavailable ${expected.unavailable ? 'yes' : 'no'}`)
  }
})

interface FaultApp {
  app: FastifyInstance
  database: DatabaseHandle
  /** the test database's URL */
  url: string
  /** the test database's name */
  name: string
  /** what the database layer logged (warn and error) */
  logged: string[]
  get (url: string): Promise<LightMyRequestResponse>
  post (url: string, payload: object): Promise<LightMyRequestResponse>
}

/**
 * An app on a fresh PostgreSQL database, opened with the app's own configuration (the shared build
 * helper opens its database with fixed settings, and these tests are about the settings).
 */
async function faultApp (t: Test, env: Record<string, string> = {}): Promise<FaultApp> {
  const testDb = await freshDatabase()
  t.teardown(() => testDb.destroy())
  // the blacklist's reload every half second, and the encryption sweep at start-up, would take pool
  // connections the counts below do not expect
  const config = testConfig(testDb.dataDir, { DATABASE_URL: testDb.url!, BLACKLIST_REFRESH_MS: '3600000', ENCRYPTION_SWEEP_SECONDS: '0', ...env })
  const logged: string[] = []
  const log = { warn: (_o: unknown, msg?: string) => { logged.push(msg ?? '') }, error: (_o: unknown, msg?: string) => { logged.push(msg ?? '') } }
  const database = await createDatabase(config, log as never)
  const key = loadSigningKey(config, { generate: true })!
  const app = await buildApp({ config, database, mode: 'all', keys: { signing: key, verification: key }, logger: false })
  t.teardown(() => app.close())
  await app.ready()
  // nor would the data path's change polling (every DATA_CACHE_REFRESH_MS) and the export jobs'
  // heartbeat: these tests read and export no data
  await dataPathOf(app.db)!.cache.stop()
  await exportsOf(app.db)!.runner.stop()
  const issuer = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: config.JWT_MAX_TTL_S })
  const authorization = (role: 'system_admin' | 'consumer') => `Bearer ${issuer.sign({ sub: 'tester', unit: 'OFFICE', roles: [role] }, 600)}`
  return {
    app,
    database,
    url: testDb.url!,
    name: new URL(testDb.url!).pathname.slice(1),
    logged,
    get: async (url) => await app.inject({ method: 'GET', url, headers: { authorization: authorization('consumer') } }),
    post: async (url, payload) => await app.inject({ method: 'POST', url, payload, headers: { authorization: authorization('system_admin') } })
  }
}

/** A tap subtest (the last overload of t.test takes just the callback) */
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

/** The server's own database, for admin work behind the app's back. */
function serverUrl (url: string): string {
  const u = new URL(url)
  u.pathname = '/postgres'
  return u.toString()
}

/** Backends of the app's pool (application_name datagate) on the test database. */
async function appBackends (h: FaultApp): Promise<number[]> {
  const res = await adminQuery(serverUrl(h.url), 'select pid from pg_stat_activity where datname = $1 and application_name = $2 order by pid', [h.name, 'datagate'])
  return res.rows.map((r: { pid: number }) => r.pid)
}

/** Opens `n` pooled connections at once, so that later faults hit idle pooled connections. */
async function warmPool (t: Test, h: FaultApp, n: number) {
  await Promise.all(Array.from({ length: n }, async () => await sql`select pg_sleep(0.05)`.execute(h.database.db)))
  t.equal(h.database.poolStats!().total, n, `the pool holds ${n} connections`)
}

async function until (what: string, check: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** GETs until a 200, asserting that every failure on the way is a 503 problem (never a 500). */
async function recovers (t: Test, h: FaultApp, url: string, tries = 5): Promise<LightMyRequestResponse> {
  for (let i = 1; ; i++) {
    const res = await h.get(url)
    if (res.statusCode === 200 || i === tries) {
      t.equal(res.statusCode, 200, `${url} answers 200 again (try ${i})`)
      return res
    }
    t.equal(res.statusCode, 503, `try ${i} failed with a 503, not a ${res.statusCode}: ${res.body}`)
    t.equal(res.json().code, 'DATABASE_UNAVAILABLE')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('killed idle connections: no crash, 503 at worst, then 200 again', { skip: needsPostgres }, async (t) => {
  const h = await faultApp(t)
  t.equal((await h.post('/api/v1/units', { code: 'CS', name: 'Computer Science', officer: { name: 'Li', contact: 'li@example.edu.cn' } })).statusCode, 201)

  // 1. killed behind the pool's back and asked again at once: the dead connection may be handed out
  await warmPool(t, h, 3)
  const killed = await adminQuery(serverUrl(h.url), 'select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [h.name])
  t.equal(killed.rowCount, 3, 'every backend of the pool was terminated')
  const res = await recovers(t, h, '/api/v1/units')
  t.same(res.json().data.map((u: { code: string }) => u.code), ['CS'])

  // 2. killed while idle and noticed by the pool first: the next request gets a new connection
  await warmPool(t, h, 2)
  const before = await appBackends(h)
  t.equal(before.length, 2)
  await adminQuery(serverUrl(h.url), 'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [h.name])
  await until('the pool dropped its dead connections', () => h.database.poolStats!().total === 0)
  t.ok(h.logged.includes('idle database connection lost'), 'the loss was logged, not thrown')
  const after = await h.get('/api/v1/units')
  t.equal(after.statusCode, 200, 'the first request after the loss succeeds')
  t.notOk((await appBackends(h)).some((pid) => before.includes(pid)), 'on a new backend')
  t.equal((await h.app.inject('/health/ready')).statusCode, 200)
})

t.test('a backend killed mid-transaction: the transaction fails, its connection is discarded', { skip: needsPostgres }, async (t) => {
  const h = await faultApp(t)
  let pid = 0
  let totalInside = 0
  const err = await h.database.db.transaction().execute(async (trx) => {
    pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid
    totalInside = h.database.poolStats!().total
    await adminQuery(serverUrl(h.url), 'select pg_terminate_backend($1)', [pid])
    await trx.insertInto('units').values({ code: 'LOST', name: 'lost', officer_name: 'n', officer_contact: 'c' }).execute()
  }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof Error, `the transaction rejected: ${String(err)}`)
  t.ok(isBrokenConnection(err), 'with a broken-connection error')
  t.ok(isDatabaseUnavailable(err), 'which the API answers with a 503')
  t.equal(totalInside, 1)
  t.equal(h.database.poolStats!().total, 0, 'the broken connection left the pool')

  const list = await h.get('/api/v1/units')
  t.equal(list.statusCode, 200, 'the next request succeeds at once')
  t.same(list.json().data, [], 'nothing of the killed transaction was written')
  const created = await h.post('/api/v1/units', { code: 'CS', name: 'Computer Science', officer: { name: 'Li', contact: 'li@example.edu.cn' } })
  t.equal(created.statusCode, 201)
  const backends = await appBackends(h)
  t.equal(backends.length, 1)
  t.not(backends[0], pid, 'served by a new backend')
})

/** A connection of the test's own, to hold locks the app's queries then wait on; closed with the test. */
async function lockingClient (t: { teardown (fn: () => unknown): void }, url: string): Promise<pg.Client> {
  const locker = new pg.Client({ connectionString: url })
  locker.on('error', () => {})
  await locker.connect()
  t.teardown(() => locker.end())
  return locker
}

t.test('statement timeout: a blocked query is a 503 within the timeout, then 200', { skip: needsPostgres }, async (t) => {
  const h = await faultApp(t, { STATEMENT_TIMEOUT_MS: '500' })
  const locker = await lockingClient(t, h.url)
  await locker.query('begin')
  await locker.query('lock table units in access exclusive mode')

  const started = Date.now()
  const res = await h.get('/api/v1/units')
  const elapsed = Date.now() - started
  t.equal(res.statusCode, 503)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(res.json(), { status: 503, code: 'DATABASE_UNAVAILABLE', instance: '/api/v1/units' })
  t.equal(res.headers['retry-after'], '1')
  t.ok(elapsed >= 450, `answered after the 500 ms statement timeout, in ${elapsed} ms`)
  const ready = await h.app.inject('/health/ready')
  t.equal(ready.statusCode, 200, 'the database itself answers: still ready')

  await locker.query('rollback')
  t.equal((await h.get('/api/v1/units')).statusCode, 200, 'once the lock is gone')
  t.equal(h.database.poolStats!().total, 1, 'a timed-out statement does not cost the connection')
})

t.test('a database that refuses connections: 503, not ready, back when it accepts again', { skip: needsPostgres }, async (t) => {
  const h = await faultApp(t)
  t.teardown(() => adminQuery(serverUrl(h.url), `alter database ${h.name} allow_connections true`))
  await adminQuery(serverUrl(h.url), `alter database ${h.name} allow_connections false`)
  await adminQuery(serverUrl(h.url), 'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [h.name])
  await until('the pool dropped its dead connections', () => h.database.poolStats!().total === 0)

  const res = await h.get('/api/v1/units')
  t.equal(res.statusCode, 503, `refused connections are a 503: ${res.body}`)
  t.equal(res.json().code, 'DATABASE_UNAVAILABLE')
  t.equal(res.headers['retry-after'], '1')
  const ready = await h.app.inject('/health/ready')
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { status: 'unavailable', database: 'unavailable' })

  await adminQuery(serverUrl(h.url), `alter database ${h.name} allow_connections true`)
  await recovers(t, h, '/api/v1/units', 2)
  t.equal((await h.app.inject('/health/ready')).statusCode, 200)
})

t.test('a frozen database: 503 within the statement timeout + 1 s, then recovery by itself', { skip: needsPostgres }, async (t) => {
  const h = await faultApp(t, { STATEMENT_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '5000', DATABASE_POOL_MAX: '2' })
  await warmPool(t, h, 2)
  const pids = await appBackends(h)
  t.equal(pids.length, 2, 'both pooled connections have a backend')
  const resume = () => { for (const pid of pids) { try { process.kill(pid, 'SIGCONT') } catch {} } }
  t.teardown(resume) // a stopped backend would block dropping the database, and never die
  for (const pid of pids) process.kill(pid, 'SIGSTOP')
  try {
    let started = Date.now()
    const res = await h.get('/api/v1/units')
    let elapsed = Date.now() - started
    t.equal(res.statusCode, 503, 'a request on a frozen connection is a 503')
    t.equal(res.json().code, 'DATABASE_UNAVAILABLE')
    t.equal(res.headers['retry-after'], '1')
    t.ok(elapsed >= 1400 && elapsed < 4500, `after the client-side query timeout (500 + 1000 ms), before the 5 s request deadline: ${elapsed} ms`)

    started = Date.now()
    const ready = await h.app.inject('/health/ready')
    elapsed = Date.now() - started
    t.equal(ready.statusCode, 503, 'not ready while its connection is frozen')
    t.ok(elapsed < 30_000, `readiness answered, though its connections hang, in ${elapsed} ms`)
    t.equal(h.database.poolStats!().total, 0, 'both frozen connections were discarded')
  } finally {
    resume()
  }
  await recovers(t, h, '/api/v1/units', 3)
  t.equal((await h.app.inject('/health/ready')).statusCode, 200, 'ready again')
})

/** A fresh PostgreSQL test database opened with these settings (the shared helper's are fixed). */
async function tunedDatabase (settings: { poolMax: number, statementTimeoutMs: number }): Promise<TestDatabase> {
  const db = await freshDatabase()
  return {
    ...db,
    open: async () => await createDatabase({ DATABASE_URL: db.url!, DATABASE_POOL_MAX: settings.poolMax, DATABASE_SSL: 'off', STATEMENT_TIMEOUT_MS: settings.statementTimeoutMs, dataDir: db.dataDir }, silent)
  }
}

t.test('statement timeout on the data path: a blocked read or audit log is a 503 within the timeout, and no data', { skip: needsPostgres }, async (t) => {
  const h = await build(t, {
    database: await tunedDatabase({ poolMax: 5, statementTimeoutMs: 500 }),
    env: { STATEMENT_TIMEOUT_MS: '500', DATABASE_POOL_MAX: '5' }
  })
  const { grant } = await dataFixture(h, 30)
  const read = async () => await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records?limit=5' }, MATH_READER)
  t.equal((await read()).statusCode, 200, 'reads work')
  const { quota } = dataPathOf(h.app.db)!
  const day = campusToday()
  const used = await quota.used(grant.id, day)
  t.equal(used, 5, 'the first read counted against the quota')

  const locker = await lockingClient(t, h.testDb.url!)

  // the records behind a lock: the read's query hits the statement timeout
  await locker.query('begin')
  await locker.query('lock table records in access exclusive mode')
  let started = Date.now()
  let res = await read()
  let elapsed = Date.now() - started
  t.equal(res.statusCode, 503, 'a read blocked past the statement timeout is a 503')
  t.match(res.json(), { status: 503, code: 'DATABASE_UNAVAILABLE' })
  t.equal(res.headers['retry-after'], '1')
  t.ok(elapsed >= 450, `answered after the 500 ms statement timeout, in ${elapsed} ms`)
  t.notOk(res.body.includes('2026'), 'no row in the answer')
  const refusal = await h.database.db.selectFrom('audit_events').select(['operation', 'outcome', 'details']).where('seq', '=', String(res.headers['x-audit-event'])).executeTakeFirstOrThrow()
  t.match(refusal, { operation: 'data.records.read', outcome: 'failure', details: { status: 503, code: 'DATABASE_UNAVAILABLE' } }, 'the failed read is audited')
  t.equal(await quota.used(grant.id, day), used, 'the quota it reserved was given back')
  await locker.query('rollback')
  t.equal((await read()).statusCode, 200, 'once the lock is gone')

  // the audit chain's head behind a lock: the read's rows are ready, its audit event cannot be written
  await locker.query('begin')
  await locker.query('select * from audit_chain_head for update')
  started = Date.now()
  res = await read()
  elapsed = Date.now() - started
  t.equal(res.statusCode, 503, 'a read whose audit event cannot be written is a 503')
  t.match(res.json(), { status: 503, code: 'DATA_AUDIT_UNAVAILABLE' })
  t.equal(res.headers['retry-after'], '1')
  t.notOk(res.body.includes('2026'), 'and carries no row')
  t.notOk(res.headers['x-audit-event'], 'no audit event to name (its refusal could not be recorded either)')
  t.ok(elapsed >= 450, `answered after the statement timeout, in ${elapsed} ms`)
  t.equal(await quota.used(grant.id, day), used + 5, 'only the read after the first lock counted')
  await locker.query('rollback')
  const back = await read()
  t.equal(back.statusCode, 200, 'once the head is free')
  t.ok(back.headers['x-audit-event'])
  const verify = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/verify' })
  t.match(verify.json(), { ok: true }, 'the audit chain verifies')
})
