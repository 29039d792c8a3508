// Two builds of Datagate on the same read, side by side: GET /api/v1/data/{dataset}/records of this
// working tree and of another checkout (BENCH_BASE, e.g. a `git worktree` of an earlier commit), each
// with its own app in this process over the same database, key and grant, and the bare route of
// bench/data-read.ts. Every round measures the bare route, then the two builds in alternating order,
// so that a change of the machine's load between rounds moves both builds alike; it prints each
// build's ratio to the bare route per round and the paired difference of the two builds over the
// rounds (mean and its 95% interval). The app built second tends to run a little faster: run it
// twice, the second time with BENCH_BASE_FIRST=1, and average the two differences (bench/README.md).
//
//   git worktree add /tmp/base <commit> --detach && ln -s "$PWD/node_modules" /tmp/base/node_modules
//   BENCH_BASE=/tmp/base BENCH_ROWS=10000 BENCH_ROUNDS=10 npx tsx bench/ab-read.ts
//   BENCH_BASE=/tmp/base BENCH_BASE_FIRST=1 BENCH_ROWS=10000 BENCH_ROUNDS=10 npx tsx bench/ab-read.ts
import { join } from 'node:path'
import autocannon from 'autocannon'
import type { FastifyInstance } from 'fastify'
import { sealCursor } from '../src/gateway/data/plan.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { benchDatabase, seedPeople, startBareRoute, startPlatform } from './people.js'

const base = process.env.BENCH_BASE
if (!base) throw new Error('BENCH_BASE names the other checkout (its src/app.ts is loaded)')
const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rowsInDataset = Number(process.env.BENCH_ROWS ?? 10_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 8)
const pageSize = 100

const bench = await benchDatabase({ DATA_SERVER_TIMING: 'true' })
const grant = await seedPeople(bench, rowsInDataset, ['api'])
// the other build: its own modules, the same database handle, config and keys (its migrations must
// be those of this tree's database, or a prefix of them that reads the same tables)
const other = await import(join(base, 'src', 'app.js')) as { buildApp: (o: unknown) => Promise<FastifyInstance> }
async function startBase (): Promise<FastifyInstance> {
  const key = loadSigningKey(bench.config, { generate: true })!
  const built = await other.buildApp({ config: bench.config, database: bench.database, mode: 'all', keys: { signing: key, verification: key }, logger: false, closeDatabase: false })
  await built.listen({ port: 0, host: '127.0.0.1' })
  return built
}
const baseFirst = process.env.BENCH_BASE_FIRST === '1'
const earlier = baseFirst ? await startBase() : null
const { app, token, maskingKey } = await startPlatform(bench)
const baseApp = earlier ?? await startBase()
const bare = await startBareRoute(bench, 'people', pageSize)

// positions from a counter, not Math.random: both builds read the same pages in every round
const positions = Array.from({ length: 2000 }, (_, n) => String(1 + ((n * 7919) % Math.max(1, rowsInDataset - pageSize))).padStart(10, '0'))
const portOf = (server: FastifyInstance) => (server.server.address() as { port: number }).port
const bareUrls = positions.map((k) => `/records?after=${k}`)
const dataUrls = positions.map((k) => `/api/v1/data/people/records?limit=${pageSize}&cursor=${sealCursor(maskingKey, grant.id, k)}`)
const auth = { authorization: `Bearer ${token}` }

async function measure (port: number, paths: string[], headers: Record<string, string> = {}, duration = seconds): Promise<number> {
  let i = 0
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    headers,
    duration,
    requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: paths[i++ % paths.length]! }) }]
  })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.average
}

// warm-up of all three
await measure(bare.port, bareUrls, {}, 3)
await measure(portOf(app), dataUrls, auth, 3)
await measure(portOf(baseApp), dataUrls, auth, 3)

const diffs: number[] = []
console.log(`PostgreSQL; ${rowsInDataset} rows; ${pageSize}-row pages; ${connections} connections, ${seconds} s each, ${rounds} rounds; base ${base}, built ${baseFirst ? 'first' : 'second'}`)
for (let round = 1; round <= rounds; round++) {
  const bareRps = await measure(bare.port, bareUrls)
  const order = round % 2 === 1 ? ['this', 'base'] as const : ['base', 'this'] as const
  const rps: Record<'this' | 'base', number> = { this: 0, base: 0 }
  for (const side of order) rps[side] = await measure(portOf(side === 'this' ? app : baseApp), dataUrls, auth)
  const [r1, r0] = [rps.this / bareRps, rps.base / bareRps]
  diffs.push(r1 - r0)
  console.log(`round ${round} (${order.join(' then ')}): bare ${bareRps.toFixed(0)} req/s; this ${rps.this.toFixed(0)} req/s, ratio ${r1.toFixed(3)}; base ${rps.base.toFixed(0)} req/s, ratio ${r0.toFixed(3)}; this − base ${(r1 - r0).toFixed(3)}`)
}
const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length
const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - mean) ** 2, 0) / Math.max(1, diffs.length - 1))
// Student's t, two-sided 95 %, for up to 30 degrees of freedom
const T95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
const half = (T95[Math.min(diffs.length - 2, T95.length - 1)] ?? 2) * sd / Math.sqrt(diffs.length)
console.log(`paired ratio difference this − base over ${diffs.length} rounds: mean ${mean.toFixed(3)}, 95% interval ${(mean - half).toFixed(3)} … ${(mean + half).toFixed(3)}`)

await bare.close()
await baseApp.close()
await app.close()
await bench.drop()
