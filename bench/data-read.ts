// The data path as a client sees it, against a bare route and a peer, each server in a process of its
// own and the load generator in another:
// - Datagate started as `npm start` starts it (package.json), on PostgreSQL: GET
//   /api/v1/data/{dataset}/records (token, grant, fields and filters, the sealed cursor, masking of
//   the six PI fields, five of them sealed at rest and served from their kept forms, the audit event
//   committed before the answer, quota);
// - the bare route (bench/bare-read.ts): Fastify and `pg` running the same keyset SELECT and
//   returning the rows as stored, unmasked, unaudited, unauthenticated;
// - Platformatic DB (bench/platformatic.ts): REST over the same table, JWT with Datagate's key and
//   a rule letting only the consumer role read records; it returns the rows as stored (sealed
//   fields as their marks), with no grant, masking, audit or quota.
// All three read 100-row pages at the same positions of the dataset; each round measures the three
// in a rotating order (bench/load.ts, autocannon in its own process), so none always runs first.
//
//   npx tsx bench/data-read.ts                                       # 10,000 rows, 50 connections, 3 rounds
//   BENCH_ROWS=1000000 npx tsx bench/data-read.ts                    # the same read on a large dataset
//   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_ROUNDS=5 npx tsx bench/data-read.ts
//   BENCH_DATABASE_URL=postgres://… npx tsx bench/data-read.ts       # another PostgreSQL server
//   BENCH_PLATFORM_NODE_ARGS=--cpu-prof npx tsx bench/data-read.ts  # V8 flags for the platform's process (after npm start's)
//   BENCH_WORKERS=2 npx tsx bench/data-read.ts                       # the platform with WORKERS=2 (0: one per core)
//   npm run bench:read                                               # only the summary line
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { sealCursor } from '../src/gateway/data/plan.js'
import { loadMaskingKey } from '../src/masking/keys.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'
import type { LoadOptions, LoadResult } from './load.js'
import { benchDatabase, npmStartCommand, seedPeople, spawnPlatform, type PlatformProcess } from './people.js'
import { spawnPlatformatic } from './platformatic.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rowsInDataset = Number(process.env.BENCH_ROWS ?? 10_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const summaryOnly = process.env.BENCH_SUMMARY === '1'
const pageSize = 100
const say = (line: string) => { if (!summaryOnly) console.log(line) }

/**
 * CPU time (user and system, ms) each process has used, from /proc (Linux): of a server's process
 * and its children (the workers of WORKERS > 1), or of every `postgres` process.
 */
function cpuMsOf (of: number | 'postgres'): Map<number, number> {
  const out = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try { stat = readFileSync(`/proc/${entry}/stat`, 'utf8') } catch { continue }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // from field 3 of proc(5) on
    const pid = Number(entry)
    const wanted = of === 'postgres' ? stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'postgres' : pid === of || Number(fields[1]) === of
    if (wanted) out.set(pid, (Number(fields[11]) + Number(fields[12])) * 10) // utime and stime (fields 14 and 15), USER_HZ 100
  }
  return out
}

/** The CPU processes used between two snapshots: those that started in between count whole (a pool's new connection), those that ended in between are missed. */
function cpuBetween (before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0)
  return ms
}

/** A TypeScript file of bench/ in a node process of its own; resolves to the child and its first line of output. */
async function spawnTs (file: string, args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess, first: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, file), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
  const lines = createInterface({ input: child.stdout! })
  const [first] = await Promise.race([
    once(lines, 'line') as Promise<[string]>,
    once(child, 'exit').then(([code]) => { throw new Error(`${file} exited (${String(code)}) before its first line`) })
  ])
  return { child, first }
}

const bench = await benchDatabase({ STATEMENT_TIMEOUT_MS: '600000' })
say(`seeding ${rowsInDataset} rows…`)
const grant = await seedPeople(bench, rowsInDataset, ['api'], say)
const signing = loadSigningKey(bench.config, { generate: true })!
const maskingKey = loadMaskingKey(bench.config, { generate: true })
const token = createTokenIssuer(signing, { issuer: bench.config.JWT_ISSUER, audience: bench.config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
  .sign({ sub: 'bench-reader', unit: 'MATH', roles: ['consumer'] }, 3600)

const start = npmStartCommand()
const platformArgs = process.env.BENCH_PLATFORM_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []
const workers = process.env.BENCH_WORKERS ?? '1'
const servers: { name: string, url: string, paths: string[], headers: Record<string, string>, pid: number }[] = []
const started: (PlatformProcess | ChildProcess)[] = []
try {
  const platform = await spawnPlatform(bench, { WORKERS: workers }, [...start.nodeArgs, ...platformArgs], { entry: start.entry, args: start.args })
  started.push(platform)
  const peer = await spawnPlatformatic(bench, signing.publicPem)
  started.push(peer)
  const bare = await spawnTs('bare-read.ts', [], { DATABASE_URL: bench.url, BENCH_PAGE_SIZE: String(pageSize) })
  started.push(bare.child)
  const barePort = (JSON.parse(bare.first) as { port: number }).port

  // the same positions for all three, from a counter (not Math.random): a raw key for the bare route and
  // the peer, its sealed cursor for Datagate
  const positions = Array.from({ length: 2000 }, (_, n) => String(1 + ((n * 7919) % Math.max(1, rowsInDataset - pageSize))).padStart(10, '0'))
  const auth = { authorization: `Bearer ${token}` }
  servers.push(
    { name: 'bare', url: `http://127.0.0.1:${barePort}`, paths: positions.map((k) => `/records?after=${k}`), headers: {}, pid: bare.child.pid! },
    { name: 'platformatic', url: peer.url, paths: positions.map((k) => `/records/?limit=${pageSize}&fields=recordKey&fields=data&where.datasetCode.eq=people&where.recordKey.gt=${k}&orderby.recordKey=asc`), headers: auth, pid: peer.pid },
    { name: 'datagate', url: platform.url, paths: positions.map((k) => `/api/v1/data/people/records?limit=${pageSize}&cursor=${sealCursor(maskingKey, grant.id, k)}`), headers: auth, pid: platform.pid }
  )

  // every server answers a page of 100 rows before anything is measured
  for (const s of servers) {
    const res = await fetch(`${s.url}${s.paths[0]!}`, { headers: s.headers })
    const body = await res.json() as unknown[] | { data: unknown[] }
    const rows = Array.isArray(body) ? body : body.data
    if (res.status !== 200 || rows.length !== pageSize) throw new Error(`${s.name} answered ${res.status} with ${rows.length} rows`)
  }
  // and the peer refuses a caller without the role, as Datagate does
  const stranger = createTokenIssuer(signing, { issuer: bench.config.JWT_ISSUER, audience: bench.config.JWT_AUDIENCE, maxTtlSeconds: 3600 }).sign({ sub: 'x', unit: 'MATH', roles: ['auditor'] }, 3600)
  for (const s of servers.slice(1)) {
    const status = (await fetch(`${s.url}${s.paths[0]!}`, { headers: { authorization: `Bearer ${stranger}` } })).status
    if (status < 400) throw new Error(`${s.name} served a caller without the consumer role (${status})`)
  }

  const dir = mkdtempSync(join(tmpdir(), 'datagate-bench-read-'))
  /** a measurement, and the CPU per request of the server's process, of PostgreSQL and of the load generator */
  type Measured = LoadResult & { serverMs: number, postgresMs: number, loadMs: number }
  async function measure (s: typeof servers[number], duration: number): Promise<Measured> {
    const pathsFile = join(dir, `${s.name}.json`)
    writeFileSync(pathsFile, JSON.stringify(s.paths))
    const options: LoadOptions = { url: s.url, pathsFile, headers: s.headers, connections, seconds: duration }
    const [server0, postgres0] = [cpuMsOf(s.pid), cpuMsOf('postgres')]
    const { child, first } = await spawnTs('load.ts', [JSON.stringify(options)])
    await once(child, 'exit')
    const [server1, postgres1] = [cpuMsOf(s.pid), cpuMsOf('postgres')]
    const result = JSON.parse(first) as LoadResult
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${s.name}: ${result.non2xx} non-2xx, ${result.errors} errors`)
    const n = Math.max(1, result.requests)
    return { ...result, serverMs: cpuBetween(server0, server1) / n, postgresMs: cpuBetween(postgres0, postgres1) / n, loadMs: result.cpuMs / n }
  }
  for (const s of servers) await measure(s, 3) // warm-up

  const results: Record<string, Measured>[] = []
  say(`PostgreSQL; ${rowsInDataset} rows; ${pageSize}-row pages; ${connections} connections, ${seconds} s each, ${rounds} rounds; ` +
    `datagate: ${platform.entry}, WORKERS=${workers}; peer: ${peer.entry}; load generator and each server in its own process`)
  for (let round = 0; round < rounds; round++) {
    const order = servers.map((_, i) => servers[(i + round) % servers.length]!)
    const r: Record<string, Measured> = {}
    for (const s of order) r[s.name] = await measure(s, seconds)
    results.push(r)
    const line = (name: string) => `${name} ${r[name]!.rps.toFixed(0)} req/s (p50 ${r[name]!.p50} ms, p99 ${r[name]!.p99} ms; CPU ms a request: server ${r[name]!.serverMs.toFixed(2)}, PostgreSQL ${r[name]!.postgresMs.toFixed(2)}, load ${r[name]!.loadMs.toFixed(2)})`
    say(`round ${round + 1} (${order.map((s) => s.name).join(', ')}): ${servers.map((s) => line(s.name)).join('; ')}; ` +
      `datagate/bare ${(r.datagate!.rps / r.bare!.rps).toFixed(2)}, datagate/platformatic ${(r.datagate!.rps / r.platformatic!.rps).toFixed(2)}`)
  }
  rmSync(dir, { recursive: true, force: true })

  const total = (name: string, pick: (r: Measured) => number) => results.reduce((n, r) => n + pick(r[name]!), 0)
  const ratio = (a: string, b: string, pick: (r: Measured) => number) => (total(a, pick) / total(b, pick)).toFixed(2)
  const rps = (r: Measured) => r.rps
  const p99 = (r: Measured) => r.p99
  console.log(`read path, ${rowsInDataset} rows, ${rounds} rounds: ${ratio('datagate', 'bare', rps)}× the bare route's req/s, ` +
    `${ratio('datagate', 'platformatic', rps)}× Platformatic DB's; p99 ${ratio('datagate', 'bare', p99)}× the bare route's, ` +
    `${ratio('datagate', 'platformatic', p99)}× Platformatic DB's ` +
    `(req/s: bare ${(total('bare', rps) / rounds).toFixed(0)}, platformatic ${(total('platformatic', rps) / rounds).toFixed(0)}, datagate ${(total('datagate', rps) / rounds).toFixed(0)})`)
} finally {
  for (const p of started) {
    if ('stop' in p) await p.stop()
    else if (p.exitCode === null) { p.kill('SIGTERM'); await once(p, 'exit') }
  }
  await bench.drop()
}
