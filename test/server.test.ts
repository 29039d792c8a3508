// The real process: `datagate serve all` on a fresh embedded database, a token from `datagate token`,
// graceful shutdown with a request in flight, and the ways start-up must refuse to run.
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runCli, startServer } from './helpers/spawn.js'

const unit = { code: 'PHYS', name: 'School of Physics', officer: { name: 'Wang Fang', contact: 'wangfang@example.edu.cn' } }

function tempDataDir (t: { teardown (fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'datagate-server-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/**
 * POSTs JSON whose body arrives in two halves: `between` runs after the first half is on the wire
 * (and the server has had time to route the request), before the second half is written.
 */
async function slowPost (url: string, headers: Record<string, string>, payload: object, between: () => Promise<void>): Promise<Answer> {
  // a client that keeps its connection open as long as the server lets it, as load balancers do
  const agent = new Agent({ keepAlive: true })
  const body = Buffer.from(JSON.stringify(payload))
  const half = Math.floor(body.length / 2)
  return await new Promise<Answer>((resolve, reject) => {
    const req = request(url, {
      agent,
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
      res.on('end', () => {
        resolve({ status: res.statusCode!, headers: res.headers, body: text })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    // the agent keeps the socket open: only the server may end it
    req.once('socket', (socket) => { socket.once('close', () => { agent.destroy() }) })
    req.flushHeaders()
    req.write(body.subarray(0, half))
    setTimeout(() => {
      between().then(() => { req.end(body.subarray(half)) }, reject)
    }, 300)
  })
}

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

t.test('serve all: ready on a fresh data dir, CLI tokens work, request ids, graceful shutdown', async (t) => {
  const dataDir = tempDataDir(t)
  // as `npm start` runs it: V8's old space capped, which the start-up log reports
  const server = await startServer(t, 'all', { DATAGATE_DATA_DIR: dataDir, LOG_LEVEL: 'info', NODE_OPTIONS: '--max-old-space-size=256' })
  t.match(server.stdout(), /"level":30,[^\n]*"heapLimitMb":\d{3},"msg":"V8 heap limit"/, 'the capped heap limit is logged at start-up')
  // how fast is a benchmark's question, not a test's: a loaded machine takes longer (startServer fails if it never gets ready)
  t.comment(`ready ${server.readyAfterMs} ms after spawn (initdb and migrations included)`)
  const live = await fetch(`${server.url}/health/live`)
  t.same(await live.json(), { status: 'ok', service: 'all' })
  t.match(server.stdout(), /"migration":"0001_create_units"/, 'the migrations were applied at start-up and logged')

  // a token of `datagate token` on the same data dir is signed with the server's key
  const issued = await runCli(t, ['token', '--sub', 'ops', '--unit', 'OFFICE', '--roles', 'system_admin', '--ttl', '10m'], { DATAGATE_DATA_DIR: dataDir })
  t.equal(issued.code, 0, `token exits 0: ${issued.stderr}`)
  const token = issued.stdout.trim()
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'one JWT on stdout')
  const auth = { authorization: `Bearer ${token}` }

  const created = await fetch(`${server.url}/api/v1/units`, {
    method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'x-request-id': 'server-test-create-1' }, body: JSON.stringify(unit)
  })
  t.equal(created.status, 201, 'the CLI token is accepted')
  t.equal(created.headers.get('x-request-id'), 'server-test-create-1', 'the caller\'s request id is echoed')
  t.match(await created.json(), unit)

  const anonymous = await fetch(`${server.url}/api/v1/units`, { headers: { 'x-request-id': 'server-test-anon-2' } })
  t.equal(anonymous.status, 401)
  t.equal(anonymous.headers.get('content-type'), 'application/problem+json; charset=utf-8')
  t.match(await anonymous.json(), { code: 'AUTH_TOKEN_MISSING', requestId: 'server-test-anon-2' })
  const generated = await fetch(`${server.url}/health/live`, { headers: { 'x-request-id': 'not safe: <script>' } })
  t.match(generated.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, 'an unsafe request id is replaced by a fresh one')

  const forged = await fetch(`${server.url}/api/v1/units`, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } })
  t.equal(forged.status, 401, 'a tampered token is not')

  // graceful shutdown: the request in flight when SIGTERM arrives still completes
  let refusedDuringShutdown: unknown
  const slow = await slowPost(`${server.url}/api/v1/units`, { ...auth, 'x-request-id': 'in-flight-3' }, { ...unit, code: 'CHEM', name: 'School of Chemistry' }, async () => {
    server.process.kill('SIGTERM')
    await sleep(300)
    refusedDuringShutdown = await fetch(`${server.url}/health/live`).then((r) => r.status, (err: Error) => err)
  })
  t.equal(slow.status, 201, `the in-flight request completed: ${slow.body}`)
  t.equal(slow.headers['x-request-id'], 'in-flight-3')
  t.match(JSON.parse(slow.body), { code: 'CHEM', name: 'School of Chemistry' })
  t.type(refusedDuringShutdown, Error, 'no new connections once shutdown began')

  const stoppedAt = Date.now()
  // the client keeps its connection: a server that waited for it would run for the keep-alive timeout (72 s)
  const exit = await Promise.race([server.exited, sleep(30_000).then(() => 'still running')])
  t.same(exit, { code: 0, signal: null }, `exited with 0, ${Date.now() - stoppedAt} ms after the last answer, though the client kept its connection`)
  t.match(server.stdout(), /"signal":"SIGTERM","msg":"shutting down"/)
  t.notMatch(server.stderr(), /Error/, 'nothing on stderr')

  if (!server.hasExited()) return // two processes on one PGlite dir would corrupt it
  // what was written before shutdown is there on the next start
  const again = await startServer(t, 'all', { DATAGATE_DATA_DIR: dataDir })
  const list = await fetch(`${again.url}/api/v1/units`, { headers: auth })
  const { data } = await list.json() as { data: { code: string }[] }
  t.same(data.map((u) => u.code), ['CHEM', 'PHYS'])
})

t.test('start-up refuses a bad configuration, naming the variable', async (t) => {
  const dataDir = tempDataDir(t)
  const [badConfig, distributedWithoutPostgres, unknownMode] = await Promise.all([
    runCli(t, ['serve', 'all'], { DATAGATE_DATA_DIR: dataDir, PORT: 'abc', LOG_LEVEL: 'loud' }),
    runCli(t, ['serve', 'catalog'], { DATAGATE_DATA_DIR: dataDir }),
    runCli(t, ['serve', 'everything'], { DATAGATE_DATA_DIR: dataDir })
  ])
  t.equal(badConfig.code, 2, 'a configuration error exits 2')
  t.match(badConfig.stderr, /invalid configuration/)
  t.match(badConfig.stderr, /PORT: .*\(got "abc"\)/, 'names PORT and the value')
  t.match(badConfig.stderr, /LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)/, 'names LOG_LEVEL and what it may be')
  t.equal(badConfig.stdout, '')

  t.not(distributedWithoutPostgres.code, 0, 'serve catalog without DATABASE_URL does not start')
  t.match(distributedWithoutPostgres.stderr, /"serve catalog" is the distributed mode and needs DATABASE_URL \(PostgreSQL\); use "serve all" for embedded PGlite/)

  t.equal(unknownMode.code, 2)
  t.match(unknownMode.stderr, /unknown run mode everything; one of all, gateway, catalog, authorization, masking, audit/)
})
