// Pool exhaustion (PostgreSQL): more concurrent requests than the pool has connections while slow
// work holds every connection. Callers wait at most the acquire timeout (DATABASE_POOL_MAX
// connections, min(STATEMENT_TIMEOUT_MS, 5 s) to get one) and then get a 503 to retry: never a
// hang, never a 500. Once the connections are free again, requests succeed at once.
import { sql } from 'kysely'
import t from 'tap'
import { createDatabase } from '../../src/db/create-db.js'
import { build } from '../helpers/build.js'
import { dataFixture, MATH_READER } from '../helpers/data.js'
import { TEST_DATABASE_URL, freshDatabase, silent, type TestDatabase } from '../helpers/database.js'

const skip = TEST_DATABASE_URL ? false : 'needs PostgreSQL (TEST_DATABASE_URL): PGlite has one connection and no pool to exhaust'

const POOL = 2
const STATEMENT_TIMEOUT_MS = 1000
const ACQUIRE_TIMEOUT_MS = Math.min(STATEMENT_TIMEOUT_MS, 5000)

/** A fresh PostgreSQL test database opened with these pool settings (the shared helper's are fixed). */
async function database (): Promise<TestDatabase> {
  const db = await freshDatabase()
  return {
    ...db,
    open: async () => await createDatabase({ DATABASE_URL: db.url!, DATABASE_POOL_MAX: POOL, DATABASE_SSL: 'off', STATEMENT_TIMEOUT_MS, dataDir: db.dataDir }, silent)
  }
}

t.test('an exhausted pool: 503 within the acquire timeout, never a hang, then 200 again', { skip }, async (t) => {
  const h = await build(t, {
    database: await database(),
    env: { DATABASE_POOL_MAX: String(POOL), STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), REQUEST_TIMEOUT_MS: '10000', RATE_LIMIT_MAX: '100000' },
    extend: (app) => {
      // slow work that holds a connection for `ms`: short statements in one transaction, each
      // under the statement timeout, so neither the server nor the client cuts it
      app.get('/test/hold', { config: { access: 'public' } }, async (request) => {
        const ms = Number((request.query as { ms?: string }).ms ?? 3000)
        await app.db.transaction().execute(async (trx) => {
          for (let slept = 0; slept < ms; slept += 250) await sql`select pg_sleep(0.25)`.execute(trx)
        })
        return { held: ms }
      })
    }
  })
  await dataFixture(h, 30)
  const read = async () => await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records?limit=5' }, MATH_READER)
  t.equal((await read()).statusCode, 200, 'reads work')
  t.equal(h.database.poolStats!().total <= POOL, true)

  // every connection held for 4 s
  const holders = Array.from({ length: POOL }, async () => await h.app.inject({ method: 'GET', url: '/test/hold?ms=4000' }))
  const deadline = Date.now() + 2000
  while (h.database.poolStats!().idle > 0 || h.database.poolStats!().total < POOL) {
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.equal(h.database.poolStats!().total, POOL, 'the pool is full')
  t.equal(h.database.poolStats!().idle, 0, 'and no connection is idle')

  const started = Date.now()
  const answers = await Promise.all(Array.from({ length: 5 * POOL * 2 }, async () => {
    const at = Date.now()
    const res = await Promise.race([read(), new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000).unref())])
    return { res, ms: Date.now() - at }
  }))
  const waited = Date.now() - started
  t.ok(answers.every((a) => a.res !== null), 'no request hangs')
  const statuses = answers.map((a) => a.res?.statusCode)
  t.same([...new Set(statuses)], [503], `${answers.length} requests beyond the pool: each a 503 (${statuses.join(',')})`)
  t.ok(answers.every((a) => a.res?.json().code === 'DATABASE_UNAVAILABLE' && a.res.headers['retry-after'] === '1'), 'DATABASE_UNAVAILABLE, Retry-After: 1')
  const times = answers.map((a) => a.ms).sort((a, b) => a - b)
  // The read waits once for a connection and fails. Its refusal is audited before it leaves: the
  // audit writer may be waiting for a connection already (a batch or its relay of domain events in
  // flight), and then its own batch waits once more, and fails too. Three waits at most.
  t.ok(times[0]! >= ACQUIRE_TIMEOUT_MS - 50, `none answered before the acquire timeout (${ACQUIRE_TIMEOUT_MS} ms): fastest ${times[0]} ms`)
  t.ok(times[times.length - 1]! < 3 * ACQUIRE_TIMEOUT_MS + 500, `each within three acquire timeouts + 0.5 s: slowest ${times[times.length - 1]} ms`)
  t.comment(`pool of ${POOL}, acquire timeout ${ACQUIRE_TIMEOUT_MS} ms: ${answers.length} concurrent reads answered 503 in ${times[0]}–${times[times.length - 1]} ms (all within ${waited} ms)`)
  const ready = await h.app.inject('/health/ready')
  t.equal(ready.statusCode, 503, 'readiness says no connection can be had')

  const held = await Promise.all(holders)
  t.same(held.map((r) => r.statusCode), held.map(() => 200), 'the slow work itself finished')
  const freed = Date.now()
  const again = await read()
  t.equal(again.statusCode, 200, `the next read succeeds at once (${Date.now() - freed} ms)`)
  t.ok(again.headers['x-audit-event'], 'audited')
  t.equal((await h.app.inject('/health/ready')).statusCode, 200, 'ready again')
  t.equal(h.database.poolStats!().waiting, 0, 'nobody waits for a connection')
  const verify = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/verify' })
  t.match(verify.json(), { ok: true }, 'the audit chain verifies')
})
