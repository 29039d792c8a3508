// The data path against a bare route doing the same query: GET /api/v1/data/{dataset}/records (token,
// grant, fields and filters, the sealed cursor, masking of 6 of 12 fields, the audit event committed
// before the answer, quota) against a bare Fastify route that runs the same SELECT through `pg` and
// returns the rows unmasked, unaudited, unauthenticated. Both read 100-row pages at random positions
// of the dataset, in the same process and run, on PostgreSQL.
//
//   npx tsx bench/data-read.ts                                       # 1,000,000 rows, 50 connections
//   BENCH_ROWS=10000 npx tsx bench/data-read.ts                      # the same read on a small dataset
//   BENCH_DATABASE_URL=postgres://… BENCH_SECONDS=10 BENCH_CONNECTIONS=50 npx tsx bench/data-read.ts
//   BENCH_ROUNDS=5 npx tsx bench/data-read.ts                        # rounds of baseline then Datagate (default 3)
//   BENCH_PROFILE=/tmp/read.cpuprofile npx tsx bench/data-read.ts   # a CPU profile of Datagate's last round
import { writeFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { sealCursor } from '../src/gateway/data/plan.js'
import { benchDatabase, seedPeople, startBareRoute, startPlatform } from './people.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rowsInDataset = Number(process.env.BENCH_ROWS ?? 1_000_000)
const pageSize = 100

const bench = await benchDatabase({ DATA_SERVER_TIMING: 'true' })
const grant = await seedPeople(bench, rowsInDataset, ['api'])
const { app, token, maskingKey } = await startPlatform(bench)

// the baseline: the same SELECT through pg, rows as stored, nothing else
const bare = await startBareRoute(bench, 'people', pageSize)

// the same random positions for both sides: a raw key for the baseline, its sealed cursor for Datagate
const positions = Array.from({ length: 2000 }, () => String(1 + Math.floor(Math.random() * Math.max(1, rowsInDataset - pageSize))).padStart(10, '0'))
const portOf = (server: { server: { address (): unknown } }) => (server.server.address() as { port: number }).port
const bareUrls = positions.map((k) => `/records?after=${k}`)
const dataUrls = positions.map((k) => `/api/v1/data/people/records?limit=${pageSize}&cursor=${sealCursor(maskingKey, grant.id, k)}`)

async function measure (port: number, paths: string[], headers: Record<string, string> = {}) {
  let i = 0
  const opts = {
    url: `http://127.0.0.1:${port}`,
    connections,
    headers,
    requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: paths[i++ % paths.length]! }) }]
  }
  await autocannon({ ...opts, duration: 3 }) // warm-up
  const result = await autocannon({ ...opts, duration: seconds })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 }
}

// BENCH_ROUNDS rounds, each the baseline then Datagate: neither side always runs first or last, and
// each round's ratio is of two measurements a few seconds apart
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const results: { baseline: Awaited<ReturnType<typeof measure>>, datagate: Awaited<ReturnType<typeof measure>> }[] = []
// BENCH_PROFILE=file.cpuprofile: a CPU profile of this process while Datagate is measured (the last round)
const profiler = process.env.BENCH_PROFILE ? new (await import('node:inspector/promises')).Session() : null
for (let round = 1; round <= rounds; round++) {
  const baseline = await measure(bare.port, bareUrls)
  const last = round === rounds
  if (profiler && last) { profiler.connect(); await profiler.post('Profiler.enable'); await profiler.post('Profiler.start') }
  const datagate = await measure(portOf(app), dataUrls, { authorization: `Bearer ${token}` })
  if (profiler && last) {
    const { profile } = await profiler.post('Profiler.stop')
    writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify(profile))
    profiler.disconnect()
  }
  results.push({ baseline, datagate })
}

// where a read's time goes: Server-Timing of sequential reads (no queueing)
const parts: Record<string, number> = {}
const sample = 300
for (let n = 0; n < sample; n++) {
  const res = await fetch(`http://127.0.0.1:${portOf(app)}${dataUrls[n]}`, { headers: { authorization: `Bearer ${token}` } })
  await res.arrayBuffer()
  for (const m of (res.headers.get('server-timing') ?? '').matchAll(/(\w+);dur=([\d.]+)/g)) parts[m[1]!] = (parts[m[1]!] ?? 0) + Number(m[2])
}

console.log(`PostgreSQL; ${rowsInDataset} rows; ${pageSize}-row pages; ${connections} connections, ${seconds} s each, ${rounds} rounds`)
for (const [n, { baseline, datagate }] of results.entries()) {
  console.log(`round ${n + 1}: baseline (bare Fastify + pg, same SELECT) ${baseline.rps.toFixed(0)} req/s, p50 ${baseline.p50} ms, p99 ${baseline.p99} ms; ` +
    `datagate ${datagate.rps.toFixed(0)} req/s, p50 ${datagate.p50} ms, p99 ${datagate.p99} ms; ` +
    `throughput ratio ${(datagate.rps / baseline.rps).toFixed(2)}, p99 ratio ${(datagate.p99 / baseline.p99).toFixed(2)}`)
}
const sum = (pick: (r: typeof results[number]) => number) => results.reduce((n, r) => n + pick(r), 0)
console.log(`all rounds: throughput ratio ${(sum((r) => r.datagate.rps) / sum((r) => r.baseline.rps)).toFixed(2)}; ` +
  `p99 ratio ${(sum((r) => r.datagate.p99) / sum((r) => r.baseline.p99)).toFixed(2)}`)
console.log(`breakdown (mean ms of ${sample} sequential reads): ${Object.entries(parts).map(([k, v]) => `${k} ${(v / sample).toFixed(3)}`).join(', ')}`)

await bare.close()
await app.close()
await bench.drop()
