// `serve` with WORKERS > 1 (PostgreSQL): the processes answer on one port, a worker that dies is
// replaced while the others keep serving, every worker appends to the one audit chain, and SIGTERM
// stops them all; without PostgreSQL the setting is refused at start-up, naming it.
import { readdirSync, readFileSync } from 'node:fs'
import { get } from 'node:http'
import t from 'tap'
import { loadConfig } from '../src/config.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import type { Role } from '../src/platform/auth/roles.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'
import { TEST_DATABASE_URL, freshDatabase } from './helpers/database.js'
import { runCli, startServer } from './helpers/spawn.js'

t.setTimeout(180_000)

const needsPostgres = TEST_DATABASE_URL ? false : 'needs PostgreSQL (TEST_DATABASE_URL)'
const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

/** The status of a GET on a connection of its own (no keep-alive pool). */
async function statusOnNewConnection (url: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => { res.resume(); resolve(res.statusCode!) }).on('error', reject)
  })
}

/** The Datagate processes a primary forked (its children whose command line runs the CLI), from /proc. */
function workersOf (primary: number): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === primary && /main\.[jt]s|datagate\.js/.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) pids.push(Number(entry))
    } catch {}
  }
  return pids.sort((a, b) => a - b)
}

t.test('WORKERS needs PostgreSQL: refused at start-up, naming the variable', async (t) => {
  t.throws(() => loadConfig({ WORKERS: '2' }), /WORKERS: more than one process needs DATABASE_URL \(PostgreSQL\); embedded PGlite is single-process/)
  t.throws(() => loadConfig({ WORKERS: '0' }), /WORKERS: more than one process needs DATABASE_URL/, '0 (one per core) too')
  t.throws(() => loadConfig({ WORKERS: '-1' }), /WORKERS: /)
  t.throws(() => loadConfig({ WORKERS: 'many', DATABASE_URL: 'postgres://x@127.0.0.1/db' }), /WORKERS: .*\(got "many"\)/)
  t.equal(loadConfig({}).WORKERS, 1, 'one process unless asked')
  t.equal(loadConfig({ WORKERS: '4', DATABASE_URL: 'postgres://x@127.0.0.1/db' }).WORKERS, 4)
  const refused = await runCli(t, ['serve', 'all'], { WORKERS: '2' })
  t.equal(refused.code, 2, 'the CLI exits 2')
  t.match(refused.stderr, /WORKERS: more than one process needs DATABASE_URL/)
  t.equal(refused.stdout, '', 'nothing was started')
})

t.test('serve all with WORKERS=2: one port, a dead worker replaced, one audit chain, SIGTERM stops all', { skip: needsPostgres || (process.platform === 'linux' ? false : 'reads /proc') }, async (t) => {
  const testDb = await freshDatabase()
  t.teardown(() => testDb.destroy())
  const server = await startServer(t, 'all', { DATABASE_URL: testDb.url!, DATAGATE_DATA_DIR: testDb.dataDir, WORKERS: '2', LOG_LEVEL: 'info' })
  let workers: number[] = []
  for (let i = 0; i < 100 && workers.length < 2; i++) { workers = workersOf(server.pid); await sleep(100) }
  t.equal(workers.length, 2, 'the primary runs two workers')
  t.match(server.stdout(), /"workers":2,"msg":"workers started"/)

  const key = loadSigningKey(loadConfig({ DATAGATE_DATA_DIR: testDb.dataDir }), { generate: false })!
  const issuer = createTokenIssuer(key, { issuer: 'datagate', audience: 'datagate', maxTtlSeconds: 3600 })
  const bearer = (roles: Role[]) => ({ authorization: `Bearer ${issuer.sign({ sub: 'workers-tester', unit: 'LAW', roles }, 600)}` })

  // refusals are audited: 60 at once over several connections reach both workers, which append to one chain
  const refused = await Promise.all(Array.from({ length: 60 }, async () => (await fetch(`${server.url}/api/v1/audit/events`, { headers: bearer(['consumer']) })).status))
  t.same([...new Set(refused)], [403], 'each refused with 403 (never 503: every refusal was recorded)')
  const verify = await fetch(`${server.url}/api/v1/audit/verify`, { headers: bearer(['auditor']) })
  t.equal(verify.status, 200)
  t.match(await verify.json(), { ok: true, firstBroken: null }, 'the chain both workers wrote verifies')
  const { data } = await (await fetch(`${server.url}/api/v1/audit/events?action=denied&limit=100`, { headers: bearer(['auditor']) })).json() as { data: unknown[] }
  t.ok(data.length >= 60, `the refusals are in the log (${data.length})`)

  // a worker killed outright: the other keeps answering, and the primary starts another
  // (its connections die with it: the client's kept-alive ones are not asked again)
  process.kill(workers[0]!, 'SIGKILL')
  await sleep(300)
  const during = await Promise.all(Array.from({ length: 10 }, async () => await statusOnNewConnection(`${server.url}/health/ready`)))
  t.same([...new Set(during)], [200], 'the port answers new connections while a worker is down')
  let replaced: number[] = []
  for (let i = 0; i < 100; i++) {
    replaced = workersOf(server.pid)
    if (replaced.length === 2 && !replaced.includes(workers[0]!)) break
    await sleep(100)
  }
  t.equal(replaced.length, 2, 'two workers again')
  t.notOk(replaced.includes(workers[0]!), 'the dead one replaced by a new process')
  t.match(server.stdout(), /"msg":"a worker exited: starting another"/)

  const exit = await server.stop(30_000)
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: the primary exits 0 once its workers have')
  t.same(workersOf(server.pid).filter((pid) => replaced.includes(pid)), [], 'no worker outlives it')
  t.match(server.stdout(), /"signal":"SIGTERM","msg":"stopping the workers"/)
})
