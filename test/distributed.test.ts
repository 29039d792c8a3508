// The distributed topology of DESIGN.md ("Run modes") as real processes on loopback: four services and
// the gateway in front of them, on one PostgreSQL database and one shared data dir (the signing key).
import { existsSync } from 'node:fs'
import t from 'tap'
import { loadConfig } from '../src/config.js'
import { createDatabase } from '../src/db/create-db.js'
import { migrateDown } from '../src/db/migrator.js'
import { maskingKeyFile } from '../src/masking/keys.js'
import { keyFile, loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'
import { SERVICES, SERVICE_URL_VARIABLES } from '../src/services.js'
import type { TestApp } from './helpers/build.js'
import { dataFixture } from './helpers/data.js'
import { insertGrant } from './helpers/grants.js'
import { TEST_DATABASE_URL, freshDatabase, silent } from './helpers/database.js'
import { freePort, runCli, startServer, type Server } from './helpers/spawn.js'

// five processes start at once, each loading the whole module graph: on a slow two-core machine
// under a parallel test run that alone can take tens of seconds
t.setTimeout(300_000)

const needsPostgres = TEST_DATABASE_URL ? false : 'needs PostgreSQL (TEST_DATABASE_URL)'
const problemType = 'application/problem+json; charset=utf-8'
const unit = { code: 'LAW', name: 'Law School', officer: { name: 'Chen Jing', contact: 'chenjing@example.edu.cn' } }

t.test('four services and a gateway, as separate processes', { skip: needsPostgres }, async (t) => {
  const testDb = await freshDatabase()
  t.teardown(() => testDb.destroy())
  const shared = { DATABASE_URL: testDb.url!, DATAGATE_DATA_DIR: testDb.dataDir }

  // the one-shot migration of a deployment: schema, and the signing key every process will find
  const migrate = await runCli(t, ['migrate'], shared)
  t.equal(migrate.code, 0, `migrate exits 0: ${migrate.stderr}`)
  t.equal(migrate.stdout, 'schema is current\n', 'the test database came migrated')
  t.ok(existsSync(keyFile(testDb.dataDir)), 'migrate generated the signing key into the data dir')
  t.ok(existsSync(maskingKeyFile(testDb.dataDir)), 'and the masking key')

  // all five start at once: the gateway needs only the addresses of the others
  const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)))
  const urls = Object.fromEntries(SERVICES.map((s) => [SERVICE_URL_VARIABLES[s], `http://127.0.0.1:${ports[s]}`]))
  const [gateway, ...started] = await Promise.all([
    startServer(t, 'gateway', { ...shared, ...urls }),
    ...SERVICES.map(async (s) => await startServer(t, s, shared, { port: ports[s] }))
  ])
  const services = Object.fromEntries(SERVICES.map((s, i) => [s, started[i]!])) as Record<typeof SERVICES[number], Server>

  const key = loadSigningKey(loadConfig({ DATAGATE_DATA_DIR: testDb.dataDir }), { generate: false })!
  const issuer = createTokenIssuer(key, { issuer: 'datagate', audience: 'datagate', maxTtlSeconds: 3600 })
  const bearer = (role: 'system_admin' | 'consumer' | 'security_admin', sub = 'dist-tester') => ({ authorization: `Bearer ${issuer.sign({ sub, unit: 'OFFICE', roles: [role] }, 600)}` })

  for (const service of SERVICES) {
    const ready = await fetch(`${services[service].url}/health/ready`)
    t.equal(ready.status, 200, `${service} is ready`)
    t.same(await ready.json(), { status: 'ok', service, database: 'ok' })
  }
  t.same(await (await fetch(`${gateway.url}/health/ready`)).json(), { status: 'ok', service: 'gateway', database: 'ok' })

  // through the gateway to the catalog and back
  const created = await fetch(`${gateway.url}/api/v1/units`, {
    method: 'POST',
    headers: { ...bearer('system_admin'), 'content-type': 'application/json', 'x-request-id': 'dist-create-1' },
    body: JSON.stringify(unit)
  })
  t.equal(created.status, 201)
  t.equal(created.headers.get('x-request-id'), 'dist-create-1')
  const body = await created.json()
  t.match(body, unit)
  const got = await fetch(`${gateway.url}/api/v1/units/LAW`, { headers: bearer('consumer') })
  t.equal(got.status, 200)
  t.same(await got.json(), body, 'the gateway reads back what it wrote')
  const direct = await fetch(`${services.catalog.url}/api/v1/units/LAW`, { headers: bearer('consumer') })
  t.same(await direct.json(), body, 'and it is in the catalog service\'s database')

  // the services authenticate: the gateway passes their answer through
  const anonymous = await fetch(`${gateway.url}/api/v1/units`, { headers: { 'x-request-id': 'dist-anon-2' } })
  t.equal(anonymous.status, 401, 'no token: 401 from the service')
  t.equal(anonymous.headers.get('content-type'), problemType)
  t.match(await anonymous.json(), { code: 'AUTH_TOKEN_MISSING', instance: '/api/v1/units', requestId: 'dist-anon-2' },
    'the problem, written by the catalog, carries the caller\'s request id: the gateway passed it on')
  const forbidden = await fetch(`${gateway.url}/api/v1/units`, {
    method: 'POST', headers: { ...bearer('consumer'), 'content-type': 'application/json' }, body: JSON.stringify({ ...unit, code: 'X1' })
  })
  t.equal(forbidden.status, 403, 'a consumer may not create units, through the gateway either')

  const unnamed = await fetch(`${gateway.url}/api/v1/units/NOPE`, { headers: bearer('consumer') })
  t.equal(unnamed.status, 404)
  const generatedId = unnamed.headers.get('x-request-id')
  t.match(generatedId, /^[0-9a-f-]{36}$/, 'the gateway made a request id')
  t.equal((await unnamed.json() as { requestId: string }).requestId, generatedId, 'and the service used the gateway\'s id')

  const masking = await fetch(`${gateway.url}/api/v1/masking/anything`, { headers: { ...bearer('consumer'), 'x-request-id': 'dist-masking-3' } })
  t.equal(masking.status, 404, 'the masking prefix reaches the masking service')
  t.match(await masking.json(), { code: 'ROUTE_NOT_FOUND', requestId: 'dist-masking-3' })

  const grants = await fetch(`${gateway.url}/api/v1/grants`, { headers: bearer('consumer') })
  t.equal(grants.status, 200, 'the authorization prefix reaches the authorization service')
  t.same(await grants.json(), { data: [], nextCursor: null })

  // the data path is the gateway's own: a grant read through it, and revoked through the authorization
  // service (another process), is refused by the gateway within a second
  const database = await createDatabase(loadConfig({ DATABASE_URL: testDb.url!, DATAGATE_DATA_DIR: testDb.dataDir }), silent)
  t.teardown(() => database.close())
  for (const code of ['CS', 'MATH']) {
    await database.db.insertInto('units').values({ code, name: `Unit ${code}`, officer_name: 'Officer', officer_contact: 'o@example.edu.cn' }).execute()
  }
  // no app in this process: the records go in unsealed, and the services' encryption sweep seals them
  const fixture = { database, app: { hasDecorator: () => false } } as unknown as TestApp
  const { grant } = await dataFixture(fixture, 12)
  const reader = { authorization: `Bearer ${issuer.sign({ sub: 'math-reader', unit: 'MATH', roles: ['consumer'] }, 600)}` }
  const page = await fetch(`${gateway.url}/api/v1/data/students/records?limit=5`, { headers: reader })
  t.equal(page.status, 200, 'the gateway serves the data path itself')
  t.ok(page.headers.get('x-audit-event'), 'with its audit event')
  const read = await page.json() as { data: Record<string, unknown>[], grant: string }
  t.equal(read.grant, grant.id)
  t.equal(read.data.length, 5)
  t.match(read.data[0]!.phone, /^138\*{4}\d{4}$/, 'masked')
  const revoke = await fetch(`${gateway.url}/api/v1/grants/${grant.id}/revoke`, {
    method: 'POST',
    headers: { ...bearer('security_admin'), 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'distributed test' })
  })
  t.equal(revoke.status, 200, 'revoked by the authorization service')
  const revokedAt = Date.now()
  let gone: Response | undefined
  while (Date.now() - revokedAt < 15_000) {
    gone = await fetch(`${gateway.url}/api/v1/data/students/records?limit=5`, { headers: reader })
    if (gone.status === 403) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  // that it happens; that another process's cache takes the change at its next poll is
  // test/authorization/grants-narrowing.test.ts's, with a controlled clock
  t.equal(gone?.status, 403, `the gateway refuses the revoked grant (${Date.now() - revokedAt} ms later)`)

  // consents held row by row: a withdrawal recorded by the authorization service (another process)
  // takes the person's rows out of the gateway's next read; the check is in the read's query
  await database.db.insertInto('purposes').values({ code: 'dist_test', name_zh: '分布式测试', name_en: 'distributed test', description: 'distributed test', created_by: 'test' }).execute()
  await insertGrant(fixture, { request: { consumer_unit: 'LAW' }, grant: { consent_based: true, purpose_code: 'dist_test' } })
  const steward = { authorization: `Bearer ${issuer.sign({ sub: 'cs-steward', unit: 'CS', roles: ['steward'] }, 600)}`, 'content-type': 'application/json' }
  const consents: string[] = []
  for (const person of ['2026000001', '2026000002']) {
    const res = await fetch(`${gateway.url}/api/v1/consents`, {
      method: 'POST',
      headers: steward,
      body: JSON.stringify({ person, dataset: 'students', purposeCode: 'dist_test', kind: 'general', evidence: 'form', givenAt: new Date(Date.now() - 86_400_000).toISOString() })
    })
    t.equal(res.status, 201, 'a consent recorded through the gateway')
    consents.push((await res.json() as { id: string }).id)
  }
  const lawReader = { authorization: `Bearer ${issuer.sign({ sub: 'law-reader', unit: 'LAW', roles: ['consumer'] }, 600)}` }
  const rowsOnConsent = async () => (await (await fetch(`${gateway.url}/api/v1/data/students/records`, { headers: lawReader })).json() as { data: unknown[] }).data.length
  t.equal(await rowsOnConsent(), 2, 'the two consented students of twelve')
  const withdrawal = await fetch(`${gateway.url}/api/v1/consents/${consents[0]!}/withdrawal`, { method: 'POST', headers: steward, body: JSON.stringify({ reason: 'distributed test' }) })
  t.equal(withdrawal.status, 200, 'withdrawn by the authorization service')
  t.equal(await rowsOnConsent(), 1, 'the gateway\'s next read leaves the person out')

  // a blacklist entry made through the audit service holds in the authorization service within a second
  const blocked = bearer('consumer', 'dist-blocked')
  t.equal((await fetch(`${services.authorization.url}/api/v1/grants`, { headers: blocked })).status, 200, 'not blocked yet')
  const block = await fetch(`${gateway.url}/api/v1/audit/blacklist`, {
    method: 'POST',
    headers: { ...bearer('security_admin'), 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'principal', value: 'dist-blocked', reason: 'distributed test' })
  })
  t.equal(block.status, 201, 'blocked through the gateway')
  const blockedAt = Date.now()
  let refused: Response | undefined
  while (Date.now() - blockedAt < 15_000) {
    refused = await fetch(`${services.authorization.url}/api/v1/grants`, { headers: blocked })
    if (refused.status === 403) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(refused?.status, 403, `another process refuses the blocked subject (${Date.now() - blockedAt} ms later)`)
  t.match(await refused?.json(), { code: 'AUTH_BLOCKED' })

  const openapi = await fetch(`${gateway.url}/openapi.json`)
  t.equal(openapi.status, 200)
  const document = await openapi.json() as { openapi: string, paths: Record<string, unknown> }
  t.match(document.openapi, /^3\./)
  t.ok(document.paths['/api/v1/units'], 'the platform document lists the catalog\'s routes')

  // a service that is down is a 503 problem at the gateway, and the others go on
  const stopped = await services.catalog.stop()
  t.equal(stopped.code, 0, 'the catalog shut down cleanly')
  const down = await fetch(`${gateway.url}/api/v1/units`, { headers: { ...bearer('consumer'), 'x-request-id': 'dist-down-4' } })
  t.equal(down.status, 503, 'a stopped service is a 503 at the gateway')
  t.equal(down.headers.get('content-type'), problemType)
  t.equal(down.headers.get('retry-after'), '1')
  t.match(await down.json(), { status: 503, code: 'SERVICE_UNAVAILABLE', detail: /catalog service/, instance: '/api/v1/units', requestId: 'dist-down-4' })
  t.equal((await fetch(`${gateway.url}/api/v1/masking/anything`, { headers: bearer('consumer') })).status, 404, 'masking still answers')
  t.equal((await fetch(`${gateway.url}/health/ready`)).status, 200, 'the gateway itself stays ready')

  for (const [name, server] of Object.entries({ gateway, ...services })) {
    t.notMatch(server.stderr(), /\S/, `${name} wrote nothing to stderr`)
  }
})

t.test('a service refuses to start while a migration is pending', { skip: needsPostgres }, async (t) => {
  const testDb = await freshDatabase()
  t.teardown(() => testDb.destroy())
  const handle = await createDatabase({ DATABASE_URL: testDb.url!, DATABASE_POOL_MAX: 1, DATABASE_SSL: 'off', STATEMENT_TIMEOUT_MS: 5000, dataDir: testDb.dataDir }, silent)
  const [reverted] = await migrateDown(handle.db)
  await handle.close()
  t.ok(reverted, 'one migration was reverted')

  const started = Date.now()
  const run = await runCli(t, ['serve', 'catalog'], { DATABASE_URL: testDb.url!, DATAGATE_DATA_DIR: testDb.dataDir, PORT: String(await freePort()), LOG_LEVEL: 'warn' })
  t.not(run.code, 0, 'serve catalog exits non-zero')
  t.match(run.stderr, new RegExp(`the database schema is not current \\(pending: ${reverted!.migrationName}\\): run "datagate migrate" first`))
  t.ok(Date.now() - started < 60_000, 'at once, rather than serving')
})
