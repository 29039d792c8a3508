// PostgreSQL stopped and started again under load, on a private server of this file's own (the
// machine's shared server is never touched): while it is down every request fails fast with a 503
// (never a 500, never a hang) and readiness says so; once it is back the service recovers by
// itself; no audit event of a read that returned data is lost or recorded twice, and the chain
// verifies.
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { build, type TestApp } from '../helpers/build.js'
import { dataFixture, MATH_READER } from '../helpers/data.js'
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js'

const server = await startPrivatePostgres()
const skip = typeof server === 'string' ? `needs a private PostgreSQL server: ${server}` : false
if (typeof server !== 'string') t.teardown(() => server.destroy())

const STATEMENT_TIMEOUT_MS = 2000

interface Sample { at: number, ms: number, status: number, seq?: string, requestId?: string, code?: string, retryAfter?: string }

/** Readers hitting the data path in a loop, and a prober polling readiness, until stopped. */
function load (h: TestApp, readers: number) {
  const started = Date.now()
  const samples: Sample[] = []
  const ready: { at: number, status: number, ms: number }[] = []
  const state = { running: true }
  const timed = async (send: () => Promise<LightMyRequestResponse>) => {
    const at = Date.now()
    // a hang shows as 599 after 20 s instead of stalling the test
    const res = await Promise.race([send(), new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000).unref())])
    return { at: at - started, ms: Date.now() - at, res }
  }
  const reader = async () => {
    while (state.running) {
      const { at, ms, res } = await timed(async () => await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records?limit=10' }, MATH_READER))
      if (!res) { samples.push({ at, ms, status: 599 }); continue }
      const sample: Sample = { at, ms, status: res.statusCode, requestId: String(res.headers['x-request-id'] ?? '') }
      if (res.headers['x-audit-event']) sample.seq = String(res.headers['x-audit-event'])
      if (res.statusCode !== 200) {
        sample.code = (res.json() as { code?: string }).code
        sample.retryAfter = String(res.headers['retry-after'])
      }
      samples.push(sample)
      if (res.statusCode !== 200) await new Promise((resolve) => setTimeout(resolve, 20)) // a client backing off a little
    }
  }
  const prober = async () => {
    while (state.running) {
      const { at, ms, res } = await timed(async () => await h.app.inject('/health/ready'))
      ready.push({ at, ms, status: res?.statusCode ?? 599 })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const done = Promise.all([...Array.from({ length: readers }, reader), prober()])
  return {
    samples,
    ready,
    now: () => Date.now() - started,
    async stop () { state.running = false; await done }
  }
}

const wait = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

async function outage (t: Tap, h: TestApp, pg: PrivatePostgres, mode: 'fast' | 'immediate') {
  const l = load(h, 6)
  await wait(1500)
  const stopAt = l.now()
  await pg.stop(mode)
  const downAt = l.now()
  await wait(3000)
  const restartAt = l.now()
  await pg.start()
  const upAt = l.now()
  await wait(3000)
  await l.stop()

  const { samples, ready } = l
  const statuses = new Map<number, number>()
  for (const s of samples) statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1)
  t.same([...statuses.keys()].filter((s) => s !== 200 && s !== 503), [], `only 200 and 503 (${JSON.stringify(Object.fromEntries(statuses))})`)
  t.ok((statuses.get(200) ?? 0) > 50, `reads succeeded before and after (${statuses.get(200)})`)
  const failures = samples.filter((s) => s.status === 503)
  t.ok(failures.length > 0, `reads failed while PostgreSQL was down (${failures.length})`)
  t.same([...new Set(failures.map((s) => s.code))].filter((c) => c !== 'DATABASE_UNAVAILABLE' && c !== 'DATA_AUDIT_UNAVAILABLE'), [], 'each 503 says the database or the audit log is unavailable')
  t.ok(failures.every((s) => s.retryAfter === '1'), 'with Retry-After: 1')

  const slowest = Math.max(...samples.map((s) => s.ms))
  t.ok(slowest < STATEMENT_TIMEOUT_MS + 2000, `no request waited longer than the statement timeout + 2 s (slowest ${slowest} ms)`)
  const whileDown = samples.filter((s) => s.at >= downAt && s.at + s.ms <= restartAt)
  t.ok(whileDown.length > 0 && whileDown.every((s) => s.status === 503), `every request started and answered while it was down is a 503 (${whileDown.length})`)
  const slowestDown = Math.max(...whileDown.map((s) => s.ms))
  t.ok(slowestDown < STATEMENT_TIMEOUT_MS, `and fast, waiting for no timeout: the slowest in ${slowestDown} ms`)
  const first503 = failures.find((s) => s.at + s.ms >= stopAt)
  const time503 = first503 ? first503.at + first503.ms - stopAt : NaN
  t.ok(time503 < 2000, `the first 503 within ${time503} ms of the stop`)

  const readyDown = ready.filter((r) => r.at >= downAt && r.at + r.ms <= restartAt)
  t.ok(readyDown.length > 0 && readyDown.every((r) => r.status === 503), `readiness is 503 while it is down (${readyDown.length} probes)`)
  t.ok(ready.every((r) => r.ms < STATEMENT_TIMEOUT_MS + 2000), `readiness answers without hanging (slowest ${Math.max(...ready.map((r) => r.ms))} ms)`)
  const back = samples.find((s) => s.status === 200 && s.at >= upAt)
  const readyBack = ready.find((r) => r.status === 200 && r.at >= upAt)
  t.ok(back, 'reads succeed again once it is back')
  t.ok(readyBack, 'readiness is 200 again')
  const after = samples.filter((s) => s.at > (back?.at ?? Infinity) + 200)
  t.ok(after.length > 0 && after.every((s) => s.status === 200), `every read after the recovery succeeds (${after.length})`)
  t.comment(`${mode} stop: first 503 ${time503} ms after the stop; slowest answer while down ${slowestDown} ms; ` +
    `first 200 ${back ? back.at + back.ms - upAt : NaN} ms and ready ${readyBack ? readyBack.at + readyBack.ms - upAt : NaN} ms after PostgreSQL accepted connections again ` +
    `(restart took ${upAt - restartAt} ms); ${statuses.get(200)} reads served, ${failures.length} refused`)
  return samples
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

t.test('PostgreSQL stopped (fast, then crashed) under load: 503s, not ready, recovery, no audit event lost or doubled', { skip }, async (t) => {
  const pg = server as PrivatePostgres
  const h = await build(t, {
    database: await pg.database({ poolMax: 5, statementTimeoutMs: STATEMENT_TIMEOUT_MS }),
    env: { DATABASE_POOL_MAX: '5', STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), REQUEST_TIMEOUT_MS: '10000', RATE_LIMIT_MAX: '1000000' }
  })
  await dataFixture(h, 50, { request: { daily_row_quota: 100_000_000 } })
  t.equal((await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records?limit=10' }, MATH_READER)).statusCode, 200, 'reads work')

  const samples = [...await outage(t, h, pg, 'fast'), ...await outage(t, h, pg, 'immediate')]

  await auditLogOf(h.app.db)!.flush()
  const served = samples.filter((s) => s.status === 200)
  t.ok(served.every((s) => s.seq), 'every read that returned data names its audit event')
  const seqs = served.map((s) => s.seq!)
  t.equal(new Set(seqs).size, seqs.length, 'no two reads name the same event')
  const rows = await h.database.db.selectFrom('audit_events').select(['seq', 'operation', 'outcome', 'request_id'])
    .where('seq', 'in', seqs).execute()
  const count = new Map<string, number>()
  for (const r of rows) count.set(String(r.seq), (count.get(String(r.seq)) ?? 0) + 1)
  t.same(seqs.filter((s) => count.get(s) !== 1), [], `each of the ${seqs.length} events is in the log exactly once`)
  t.ok(rows.every((r) => r.operation === 'data.records.read' && r.outcome === 'success'), 'each a successful read')
  const perRequest = await h.database.db.selectFrom('audit_events').select(['request_id', (eb) => eb.fn.countAll<string>().as('n')])
    .where('operation', '=', 'data.records.read').where('outcome', '=', 'success').groupBy('request_id').having((eb) => eb.fn.countAll(), '>', 1).execute()
  t.same(perRequest, [], 'no request has two read events')

  const verify = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/verify' })
  t.equal(verify.statusCode, 200)
  t.match(verify.json(), { ok: true, firstBroken: null }, `the chain verifies (${verify.json().checked} events)`)
  t.equal((await h.app.inject('/health/ready')).statusCode, 200, 'ready')
})
