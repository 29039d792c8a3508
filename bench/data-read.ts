// The data path against a bare route doing the same query: GET /api/v1/data/{dataset}/records (token,
// grant, fields and filters, the sealed cursor, masking of 6 of 12 fields, the audit event committed
// before the answer, quota) against a bare Fastify route that runs the same SELECT through `pg` and
// returns the rows unmasked, unaudited, unauthenticated. Both read 100-row pages at random positions
// of the dataset, in the same process and run, on PostgreSQL.
//
//   npx tsx bench/data-read.ts                                       # 1,000,000 rows, 50 connections
//   BENCH_ROWS=10000 npx tsx bench/data-read.ts                      # the same read on a small dataset
//   BENCH_DATABASE_URL=postgres://… BENCH_SECONDS=10 BENCH_CONNECTIONS=50 npx tsx bench/data-read.ts
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import Fastify from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { createDatasetRepository } from '../src/catalog/datasets/repository.js'
import { loadConfig } from '../src/config.js'
import type { StoredField } from '../src/db/database.js'
import { createDatabase } from '../src/db/create-db.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { sealCursor } from '../src/gateway/data/plan.js'
import { loadMaskingKey } from '../src/masking/keys.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rowsInDataset = Number(process.env.BENCH_ROWS ?? 1_000_000)
const pageSize = 100
const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

async function withAdmin (text: string) {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try { await client.query(text) } finally { await client.end() }
}

const dataDir = mkdtempSync(join(tmpdir(), 'datagate-bench-'))
const dbName = `datagate_bench_${randomBytes(4).toString('hex')}`
await withAdmin(`create database ${dbName}`)
const url = new URL(serverUrl)
url.pathname = `/${dbName}`
const config = loadConfig({
  DATAGATE_DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  RATE_LIMIT_MAX: '100000000',
  DATABASE_URL: url.toString(),
  DATABASE_POOL_MAX: '10',
  DATA_SERVER_TIMING: 'true',
  BLACKLIST_AUTO_MINUTES: '0'
})
const database = await createDatabase(config, { warn () {}, error () {} })
const db = database.db
await migrateToLatest(database.db)

// 12 fields, 6 of them personal information masked by the display profile
const field = (name: string, type: StoredField['type'], extra: Partial<StoredField> = {}): StoredField => ({
  name, type, required: false, piType: null, sensitivity: 1, description: null, format: null, enum: null, pattern: null, maxLength: null, minimum: null, maximum: null, masking: null, ...extra
})
const fields: StoredField[] = [
  field('student_id', 'string', { required: true, piType: 'student_id', sensitivity: 3 }),
  field('name', 'string', { piType: 'name', sensitivity: 3 }),
  field('id_number', 'string', { piType: 'id_number', sensitivity: 3 }),
  field('phone', 'string', { piType: 'phone', sensitivity: 3 }),
  field('email', 'string', { piType: 'email', sensitivity: 3 }),
  field('address', 'string', { piType: 'address', sensitivity: 3 }),
  field('college', 'string'),
  field('major', 'string'),
  field('year', 'integer'),
  field('gpa', 'number'),
  field('active', 'boolean'),
  field('enrolled_on', 'date')
]
for (const code of ['CS', 'MATH']) {
  await db.insertInto('units').values({ code, name: `Unit ${code}`, officer_name: 'Officer', officer_contact: 'officer@example.edu.cn' }).execute()
}
await createDatasetRepository(db).insert({
  code: 'people',
  name: 'People',
  description: null,
  producer_unit: 'CS',
  subject: 'people',
  category: 'student',
  grade: 'ordinary',
  national_grade: 'general',
  share_attribute: 'conditional',
  open_attribute: 'none',
  personnel_basic: true,
  update_frequency: 'daily',
  retention_days: 3650,
  holds_pi: true,
  sensitive_pi: false,
  children_pi: false,
  primary_key: ['student_id'],
  person_key: 'student_id',
  fields,
  sources: [],
  metadata_restricted: false,
  status: 'published',
  created_by: 'bench',
  published_at: new Date()
})
const batch = randomUUID()
await db.insertInto('ingest_batches').values({ id: batch, dataset_code: 'people', unit: 'CS', sub: 'bench', client: null, format: 'json', received: rowsInDataset, accepted: rowsInDataset, rejected: 0, errors: '{}' }).execute()
console.log(`loading ${rowsInDataset} records…`)
for (let start = 1; start <= rowsInDataset; start += 200_000) {
  const end = Math.min(rowsInDataset, start + 199_999)
  await sql`
    insert into records (dataset_code, record_key, data, person_key, batch_id, source_unit, source_sub, source_client)
    select 'people', k, jsonb_build_object(
             'student_id', k, 'name', '张' || chr(19968 + (i % 2000)) || chr(19968 + (i % 997)), 'id_number', '11010519491231002X',
             'phone', '138' || lpad((i % 100000000)::text, 8, '0'), 'email', 's' || i || '@example.edu.cn',
             'address', '北京市海淀区学院路' || (i % 300) || '号', 'college', (array['CS','MATH','LAW','MED'])[1 + i % 4],
             'major', 'major ' || (i % 40), 'year', 2018 + i % 8, 'gpa', round(((i % 500) / 100.0)::numeric, 2),
             'active', i % 2 = 0, 'enrolled_on', (2018 + i % 8) || '-09-01'),
           k, ${batch}::uuid, 'CS', 'bench', null
    from (select i, lpad(i::text, 10, '0') as k from generate_series(${start}::int, ${end}::int) as i) s`.execute(db)
}
await sql`analyze records`.execute(db)
const request = await db.insertInto('share_requests').values({
  dataset_code: 'people',
  producer_unit: 'CS',
  consumer_unit: 'MATH',
  subject: null,
  requested_by: 'bench',
  requested_client: null,
  fields: fields.map((f) => f.name),
  row_filter: '{}',
  purpose: 'benchmark',
  legal_basis: 'statutory duties',
  access_modes: ['api'],
  valid_from: '2020-01-01',
  valid_until: '2099-12-31',
  daily_row_quota: 2_000_000_000,
  third_party: false,
  third_party_name: null,
  workflow: 'office',
  needs_agreement: false,
  status: 'active',
  decision_reason: null,
  review_due_at: null,
  overdue_reported_at: null,
  unmasked_reason: null,
  collective_decision: null,
  external_approval: null,
  person_count: null
}).returningAll().executeTakeFirstOrThrow()
const grant = await db.insertInto('grants').values({
  share_request_id: request.id,
  consumer_unit: 'MATH',
  subject: null,
  dataset_code: 'people',
  producer_unit: 'CS',
  fields: request.fields,
  row_filter: '{}',
  purpose: 'benchmark',
  access_modes: ['api'],
  valid_from: '2020-01-01',
  valid_until: '2099-12-31',
  daily_row_quota: 2_000_000_000,
  masked: true,
  third_party: false,
  children_pi: false,
  consent_ids: [],
  status: 'active',
  status_reason: null,
  status_changed_by: null,
  status_changed_at: null
}).returningAll().executeTakeFirstOrThrow()

const key = loadSigningKey(config, { generate: true })!
const maskingKey = loadMaskingKey(config, { generate: true })
const app = await buildApp({ config, database, mode: 'all', keys: { signing: key, verification: key }, logger: false, closeDatabase: false })
await app.listen({ port: 0, host: '127.0.0.1' })
const token = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
  .sign({ sub: 'bench-reader', unit: 'MATH', roles: ['consumer'] }, 3600)

// the baseline: the same SELECT through pg, rows as stored, nothing else
const pool = new pg.Pool({ connectionString: url.toString(), max: 10 })
const bare = Fastify()
bare.get('/records', async (req) => {
  const { after } = req.query as { after: string }
  const result = await pool.query('select record_key, data from records where dataset_code = $1 and record_key > $2 order by record_key limit $3', ['people', after, pageSize + 1])
  return { data: result.rows.slice(0, pageSize).map((r: { data: unknown }) => r.data) }
})
await bare.listen({ port: 0, host: '127.0.0.1' })

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

const baseline = await measure(portOf(bare), bareUrls)
const datagate = await measure(portOf(app), dataUrls, { authorization: `Bearer ${token}` })

// where a read's time goes: Server-Timing of sequential reads (no queueing)
const parts: Record<string, number> = {}
const sample = 300
for (let n = 0; n < sample; n++) {
  const res = await fetch(`http://127.0.0.1:${portOf(app)}${dataUrls[n]}`, { headers: { authorization: `Bearer ${token}` } })
  await res.arrayBuffer()
  for (const m of (res.headers.get('server-timing') ?? '').matchAll(/(\w+);dur=([\d.]+)/g)) parts[m[1]!] = (parts[m[1]!] ?? 0) + Number(m[2])
}

console.log(`PostgreSQL; ${rowsInDataset} rows; ${pageSize}-row pages; ${connections} connections, ${seconds} s each`)
console.log(`baseline  (bare Fastify + pg, same SELECT): ${baseline.rps.toFixed(0)} req/s, p50 ${baseline.p50} ms, p99 ${baseline.p99} ms`)
console.log(`datagate  GET /api/v1/data/people/records:  ${datagate.rps.toFixed(0)} req/s, p50 ${datagate.p50} ms, p99 ${datagate.p99} ms`)
console.log(`throughput ratio ${(datagate.rps / baseline.rps).toFixed(2)}; p99 ratio ${(datagate.p99 / baseline.p99).toFixed(2)}`)
console.log(`breakdown (mean ms of ${sample} sequential reads): ${Object.entries(parts).map(([k, v]) => `${k} ${(v / sample).toFixed(3)}`).join(', ')}`)

await bare.close()
await pool.end()
await app.close()
await database.close()
await withAdmin(`drop database ${dbName} with (force)`)
rmSync(dataDir, { recursive: true, force: true })
