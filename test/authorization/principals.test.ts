// Who holds which role (R1.2, 004 §25): every accepted token is registered on its first use (issuer,
// subject, unit, roles, token id, expiry, first and last use; never the token), in memory on the
// request path and written in batches; GET /api/v1/principals lists the assignments to the office.
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { createPrincipalRegistry } from '../../src/platform/auth/principal-registry.js'
import { build, createUnit, type TestApp } from '../helpers/build.js'
import { TEST_DATABASE_URL } from '../helpers/database.js'

const READERS = [['system_admin', 'admin-li'], ['security_admin', 'office-wang'], ['auditor', 'auditor-zhao']] as const
const REFUSED = ['steward', 'consumer', 'supervisor', 'leadership'] as const

const jti = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string
const expOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const rows = async (h: TestApp) => await h.database.db.selectFrom('principals').selectAll().orderBy('id').execute()

async function list (h: TestApp, query = '', role: (typeof READERS)[number] = READERS[2]) {
  return await h.as(role[0], { method: 'GET', url: `/api/v1/principals${query}` }, { sub: role[1], unit: 'OFFICE' })
}

// no timer flush during the tests: they flush when they mean to
const h = await build(t, { env: { PRINCIPALS_FLUSH_MS: '600000' } })
// the units' home pages of a few people: any authenticated route will do
const probe = async (token: string) => await h.app.inject({ method: 'GET', url: '/api/v1/units', headers: bearer(token) })

t.test('accepted tokens are registered in memory, written in one batch, keyed by issuer, subject, unit and roles', async (t) => {
  const first = h.token('steward', { sub: 'zhang.wei', unit: 'CS' })
  const second = h.token(['steward'], { sub: 'zhang.wei', unit: 'CS' })
  const asConsumer = h.token(['consumer', 'steward'], { sub: 'zhang.wei', unit: 'CS' })
  const sameSetOtherOrder = h.token(['steward', 'consumer'], { sub: 'zhang.wei', unit: 'CS' })
  for (const token of [first, first, second, asConsumer, sameSetOtherOrder]) t.equal((await probe(token)).statusCode, 200)
  const forged = `${first.slice(0, -4)}AAAA`
  t.equal((await probe(forged)).statusCode, 401)

  t.same(await rows(h), [], 'nothing is written on the request path')
  t.equal(h.app.principalRegistry.pending, 2, 'two assignments wait in memory')
  await h.app.principalRegistry.flush()
  const stored = await rows(h)
  t.equal(stored.length, 2, 'one row per role set; the refused token is not registered')
  t.match(stored[0], {
    issuer: h.config.JWT_ISSUER, sub: 'zhang.wei', unit_code: 'CS', roles: ['steward'], client_id: null, token_id: jti(second), uses: '3'
  })
  t.equal(stored[0]!.token_expires_at!.getTime(), expOf(second) * 1000, 'the expiry of the latest token')
  t.ok(stored[0]!.first_seen_at <= stored[0]!.last_seen_at)
  t.match(stored[1], { roles: ['consumer', 'steward'], token_id: jti(sameSetOtherOrder), uses: '2' }, 'roles are a set: their order makes no second row')
  t.notOk(JSON.stringify(stored).includes(first.split('.')[2]!), 'never the token itself')

  // later flushes add to the same rows, keeping the first use
  const firstSeen = stored[0]!.first_seen_at.getTime()
  t.equal((await probe(first)).statusCode, 200)
  await h.app.principalRegistry.flush()
  const again = (await rows(h))[0]!
  t.equal(Number(again.uses), 4)
  t.equal(again.first_seen_at.getTime(), firstSeen, 'the first use stays')
  t.equal(again.token_id, jti(first), 'the token of the latest use')
})

t.test('a service client\'s tokens are registered as the client', async (t) => {
  await createUnit(h, 'LIB')
  const created = await h.as('system_admin', { method: 'POST', url: '/api/v1/clients', payload: { name: 'library system', unit: 'LIB', roles: ['consumer'] } })
  t.equal(created.statusCode, 201, created.body)
  const { clientId, clientSecret } = created.json()
  const issued = await h.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } })
  t.equal(issued.statusCode, 200, issued.body)
  t.equal((await probe(issued.json().access_token)).statusCode, 200)
  const res = await list(h, '?unit=LIB')
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json().data, [{ sub: `client:${clientId}`, unit: 'LIB', roles: ['consumer'], kind: 'client', client: clientId, tokenId: jti(issued.json().access_token), uses: 1 }])
})

t.test('the office, the administrator and auditors list the assignments, filtered and paginated; others get 403', async (t) => {
  // the list writes what this process saw first: the readers' own tokens are in it
  for (const reader of READERS) {
    const res = await list(h, '', reader)
    t.equal(res.statusCode, 200, reader[0])
    t.ok(res.json().data.some((p: { sub: string }) => p.sub === reader[1]), `${reader[0]} sees its own token`)
  }
  const all = (await list(h, '?limit=200')).json()
  t.equal(all.nextCursor, null)
  t.match(all.data[0], {
    sub: 'zhang.wei',
    unit: 'CS',
    roles: ['steward'],
    issuer: h.config.JWT_ISSUER,
    kind: 'person',
    client: null,
    tokenId: String,
    tokenExpiresAt: String,
    firstSeenAt: String,
    lastSeenAt: String,
    uses: 4
  })

  const stewards = (await list(h, '?role=steward')).json().data.map((p: { sub: string, roles: string[] }) => `${p.sub}:${p.roles.join('+')}`)
  t.same(stewards, ['zhang.wei:steward', 'zhang.wei:consumer+steward'], 'role: every assignment that includes it')
  t.same((await list(h, '?role=auditor&unit=OFFICE')).json().data.map((p: { sub: string }) => p.sub), ['auditor-zhao'])
  t.same((await list(h, '?unit=NOPE')).json().data, [])

  // page by page, in the order first seen
  const seen: string[] = []
  let cursor: string | null = null
  do {
    const page: { data: { sub: string, roles: string[] }[], nextCursor: string | null } =
      (await list(h, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json()
    t.ok(page.data.length <= 2)
    seen.push(...page.data.map((p) => `${p.sub}:${p.roles.join('+')}`))
    cursor = page.nextCursor
  } while (cursor !== null)
  t.same(seen, all.data.map((p: { sub: string, roles: string[] }) => `${p.sub}:${p.roles.join('+')}`), 'the pages make the whole list once')

  for (const role of REFUSED) {
    const res = await h.as(role, { method: 'GET', url: '/api/v1/principals' }, { sub: `cs-${role}`, unit: 'CS' })
    t.equal(res.statusCode, 403, `${role} does not list who holds which role`)
  }
  const denied = await h.database.db.selectFrom('principals').select('sub').where('sub', '=', 'cs-steward').execute()
  await h.app.principalRegistry.flush()
  t.same(denied, [], 'not before the next flush…')
  t.equal((await h.database.db.selectFrom('principals').select('sub').where('sub', '=', 'cs-steward').execute()).length, 1,
    '…and a token refused for its role on one route is still an accepted token')
})

t.test('bad input is a 400 naming the parameter', async (t) => {
  const cases: [string, string][] = [
    ['?role=root', 'role'], ['?unit=not%20a%20unit', 'unit'], ['?limit=0', 'limit'], ['?limit=201', 'limit'],
    ['?cursor=%25%25', 'cursor'], ['?cursor=WyJ4Il0', 'cursor'], ['?sub=x', 'sub']
  ]
  for (const [query, field] of cases) {
    const res = await list(h, query)
    t.equal(res.statusCode, 400, `${query}: ${res.body}`)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === field), `${query} names ${field}: ${res.body}`)
  }
})

t.test('a process writes what it saw when it closes', async (t) => {
  // PostgreSQL: a second pool, as a second process would have; PGlite: the one handle, shared
  const database = TEST_DATABASE_URL ? await h.testDb.open() : h.database
  const other = await buildApp({ config: h.config, database, mode: 'all', keys: { signing: h.key, verification: h.key }, logger: false, closeDatabase: !!TEST_DATABASE_URL })
  await other.ready()
  const token = h.token('supervisor', { sub: 'supervisor-zhou', unit: 'OFFICE' })
  t.equal((await other.inject({ method: 'GET', url: '/api/v1/units', headers: bearer(token) })).statusCode, 200)
  t.equal((await h.database.db.selectFrom('principals').select('sub').where('sub', '=', 'supervisor-zhou').execute()).length, 0)
  await other.close()
  t.match(await h.database.db.selectFrom('principals').selectAll().where('sub', '=', 'supervisor-zhou').execute(),
    [{ roles: ['supervisor'], token_id: jti(token), uses: '1' }])
})

t.test('a failed write keeps what was seen for the next flush', async (t) => {
  let fail = true
  const db = new Proxy(h.database.db, {
    get (target, prop, receiver) {
      if (prop === 'getExecutor' && fail) return () => { throw new Error('database down') }
      const value: unknown = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const registry = createPrincipalRegistry(db, { maxPending: 2 })
  const principal = (sub: string) => ({ sub, unit: 'MATH', roles: ['consumer' as const], tokenId: `t-${sub}` })
  registry.seen(principal('wang.fang'), 'https://idp.example.edu.cn', 2_000_000_000, Date.parse('2026-09-01T08:00:00Z'))
  await t.rejects(registry.flush(), /database down/)
  t.equal(registry.pending, 1, 'kept')
  registry.seen(principal('wang.fang'), 'https://idp.example.edu.cn', 2_000_000_000, Date.parse('2026-09-01T09:00:00Z'))
  registry.seen(principal('li.na'), 'https://idp.example.edu.cn', 2_000_000_000, Date.parse('2026-09-01T09:00:00Z'))
  registry.seen(principal('zhao.lei'), 'https://idp.example.edu.cn', 2_000_000_000, Date.parse('2026-09-01T09:00:00Z'))
  t.equal(registry.pending, 2, 'merged with what was seen meanwhile; the buffer is bounded')
  fail = false
  await registry.flush()
  t.match(await h.database.db.selectFrom('principals').selectAll().where('unit_code', '=', 'MATH').orderBy('id').execute(), [
    { sub: 'wang.fang', issuer: 'https://idp.example.edu.cn', uses: '2', first_seen_at: new Date('2026-09-01T08:00:00Z'), last_seen_at: new Date('2026-09-01T09:00:00Z') },
    { sub: 'li.na', uses: '1' }
  ])
})
