// What the platform costs on top of the query it runs: GET /api/v1/units/{code} (token verification,
// access rule, validation, rate limiting, metrics, problem handling, serialization) against a bare
// Fastify route that runs the same Kysely query on the same database, in the same process.
//
//   npx tsx bench/platform-overhead.ts                      # PGlite
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/platform-overhead.ts
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import Fastify from 'fastify'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { createDatabase } from '../src/db/create-db.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20)
const serverUrl = process.env.BENCH_DATABASE_URL

async function withAdmin (sql: string) {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}

const dataDir = mkdtempSync(join(tmpdir(), 'datagate-bench-'))
let databaseUrl: string | undefined
let dbName: string | undefined
if (serverUrl) {
  dbName = `datagate_bench_${randomBytes(4).toString('hex')}`
  await withAdmin(`create database ${dbName}`)
  const url = new URL(serverUrl)
  url.pathname = `/${dbName}`
  databaseUrl = url.toString()
}
const config = loadConfig({
  DATAGATE_DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  RATE_LIMIT_MAX: '100000000',
  ...(databaseUrl ? { DATABASE_URL: databaseUrl, DATABASE_POOL_MAX: '10' } : {})
})
const database = await createDatabase(config, console)
await migrateToLatest(database.db)
await database.db.insertInto('units').values({ code: 'CS', name: 'School of Computer Science', officer_name: 'Li Wei', officer_contact: 'liwei@example.edu.cn' }).execute()

const key = loadSigningKey(config, { generate: true })!
const app = await buildApp({ config, database, mode: 'all', keys: { signing: key, verification: key }, logger: false, closeDatabase: false })
await app.listen({ port: 0, host: '127.0.0.1' })
const token = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
  .sign({ sub: 'bench', unit: 'CS', roles: ['consumer'] }, 3600)

const bare = Fastify()
bare.get('/units/:code', async (request) => {
  const { code } = request.params as { code: string }
  return await database.db.selectFrom('units').selectAll().where('code', '=', code).executeTakeFirst()
})
await bare.listen({ port: 0, host: '127.0.0.1' })

async function measure (url: string, headers: Record<string, string> = {}) {
  await autocannon({ url, connections, duration: 2, headers }) // warm-up
  const result = await autocannon({ url, connections, duration: seconds, headers })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 }
}

const portOf = (server: { server: { address (): unknown } }) => (server.server.address() as { port: number }).port
const baseline = await measure(`http://127.0.0.1:${portOf(bare)}/units/CS`)
const platform = await measure(`http://127.0.0.1:${portOf(app)}/api/v1/units/CS`, { authorization: `Bearer ${token}` })

const db = serverUrl ? 'PostgreSQL' : 'PGlite'
console.log(`database: ${db}; ${connections} connections, ${seconds} s each`)
console.log(`baseline  (bare Fastify + same query): ${baseline.rps.toFixed(0)} req/s, p50 ${baseline.p50} ms, p99 ${baseline.p99} ms`)
console.log(`datagate  GET /api/v1/units/{code}:     ${platform.rps.toFixed(0)} req/s, p50 ${platform.p50} ms, p99 ${platform.p99} ms`)
console.log(`ratio (datagate / baseline throughput): ${(platform.rps / baseline.rps).toFixed(2)}`)

await bare.close()
await app.close()
await database.close()
if (dbName) await withAdmin(`drop database ${dbName} with (force)`)
rmSync(dataDir, { recursive: true, force: true })
