// What sealing every personal-information field costs (003 3(1)), side by side with the bare
// baselines of bench/ingest.ts and bench/data-read.ts, in the same process and run, on PostgreSQL:
// - ingest: PUT /api/v1/datasets/people/records of 1,000-record batches whose six PI fields are
//   sealed at ingest (one AEAD blob per record, six blind indexes, the kept masked forms) against a
//   multi-row INSERT of the same records through `pg` into a plain (dataset_code, record_key, data)
//   table;
// - reads: GET /api/v1/data/people/records, 100-row pages at random positions under a masked
//   (display) grant, against a bare Fastify route running the same keyset SELECT through `pg` and
//   returning the rows as stored; the same read of the same records stored in the clear (as before
//   this release); and the read under an unmasked grant, which opens every row.
//
//   npx tsx bench/encryption.ts
//   BENCH_READS=0 npx tsx bench/encryption.ts                  # ingest only
//   BENCH_READS=0 BENCH_PROFILE=/tmp/ingest.cpuprofile npx tsx bench/encryption.ts   # and a CPU profile of its last sealed round
//   BENCH_CIPHER=sm4 BENCH_ROUNDS=5 BENCH_BATCHES=10 BENCH_SECONDS=8 npx tsx bench/encryption.ts
import { randomUUID } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import pg from 'pg'
import type { StoredField } from '../src/db/database.js'
import { sealCursor } from '../src/gateway/data/plan.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'
import { benchDatabase, field, insertBenchDataset, insertBenchGrant, insertUnits, startBareRoute, startPlatform } from './people.js'

const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const batches = Number(process.env.BENCH_BATCHES ?? 10)
const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const pageSize = 100
/** BENCH_READS=0 measures ingest only */
const withReads = process.env.BENCH_READS !== '0'

/** 12 fields keyed on a surrogate: all six PI fields are sealed (key fields stay in the clear) */
const FIELDS: StoredField[] = [
  field('record_no', 'string', { required: true }),
  field('student_id', 'string', { piType: 'student_id', sensitivity: 3 }),
  field('name', 'string', { piType: 'name', sensitivity: 3 }),
  field('id_number', 'string', { piType: 'id_number', sensitivity: 3 }),
  field('phone', 'string', { piType: 'phone', sensitivity: 3 }),
  field('email', 'string', { piType: 'email', sensitivity: 3 }),
  field('address', 'string', { piType: 'address', sensitivity: 3 }),
  field('college', 'string'), field('major', 'string'), field('year', 'integer'), field('gpa', 'number'), field('enrolled_on', 'date')
]

const bench = await benchDatabase({ DATAGATE_CIPHER: process.env.BENCH_CIPHER ?? 'aes-256-gcm', ENCRYPTION_SWEEP_SECONDS: '0' })
await insertUnits(bench, ['CS', 'MATH'])
await insertBenchDataset(bench, { code: 'people', fields: FIELDS, primary_key: ['record_no'], holds_pi: true })
const { app, port, token: reader, maskingKey } = await startPlatform(bench)
const steward = createTokenIssuer(loadSigningKey(bench.config, { generate: false })!, { issuer: bench.config.JWT_ISSUER, audience: bench.config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
  .sign({ sub: 'bench', unit: 'CS', roles: ['steward'] }, 3600)

let next = 0
const record = () => {
  const i = next++
  return {
    record_no: String(i).padStart(10, '0'),
    student_id: String(2_000_000_000 + i),
    name: `张${String.fromCharCode(0x4e00 + (i % 2000))}${String.fromCharCode(0x4e00 + (i % 997))}`,
    id_number: '11010519491231002X',
    phone: `138${String(i % 100_000_000).padStart(8, '0')}`,
    email: `s${i}@example.edu.cn`,
    address: `北京市海淀区学院路${i % 300}号`,
    college: ['CS', 'MATH', 'LAW', 'MED'][i % 4],
    major: `major ${i % 40}`,
    year: 2018 + (i % 8),
    gpa: (i % 500) / 100,
    enrolled_on: `${2018 + (i % 8)}-09-01`
  }
}

// ingest: rounds alternate which side goes first; the first round warms up
const baseline = new pg.Client({ connectionString: bench.url })
await baseline.connect()
await baseline.query('create table baseline_records (dataset_code text not null, record_key text not null, data jsonb not null, primary key (dataset_code, record_key))')
const ingestMs = { baseline: 0, sealed: 0 }
const methods = {
  async baseline (rows: ReturnType<typeof record>[]) {
    const params: unknown[] = []
    const values = rows.map((row, i) => {
      params.push('people', row.record_no, JSON.stringify(row))
      return `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`
    })
    await baseline.query(`insert into baseline_records (dataset_code, record_key, data) values ${values.join(', ')}`, params)
  },
  async sealed (_rows: unknown, body: string) {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/datasets/people/records`, { method: 'PUT', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${steward}` } })
    if (res.status !== 200) throw new Error(`ingest: ${res.status} ${(await res.text()).slice(0, 300)}`)
    await res.arrayBuffer()
  }
}
// CPU time as well as wall time: on a shared machine the wall time of each side moves with the
// load, the CPU it took much less. This process (server and client) and the bench database's
// PostgreSQL backends, read from /proc (Linux).
const dbName = new URL(bench.url).pathname.slice(1)
async function cpuMs () {
  const pids = (await baseline.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [dbName])).rows.map((r) => r.pid)
  let pgMs = 0
  for (const pid of pids) {
    try { pgMs += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6 } catch { /* ended meanwhile */ }
  }
  const { user, system } = process.cpuUsage()
  return { node: (user + system) / 1000, pg: pgMs }
}
// BENCH_PROFILE=file.cpuprofile: a CPU profile of this process during the last round of sealed PUTs
const profiler = process.env.BENCH_PROFILE ? new (await import('node:inspector/promises')).Session() : null
const ingestCpu = { baseline: { node: 0, pg: 0 }, sealed: { node: 0, pg: 0 } }
let ingested = 0
const ingestRatios: string[] = []
for (let round = 0; round < rounds; round++) {
  const took = { baseline: 0, sealed: 0 }
  for (const name of (round % 2 ? ['sealed', 'baseline'] : ['baseline', 'sealed']) as (keyof typeof methods)[]) {
    const work = Array.from({ length: batches }, () => Array.from({ length: 1000 }, record))
    const bodies = work.map((rows) => JSON.stringify(rows))
    const profiled = profiler !== null && name === 'sealed' && round === rounds - 1
    if (profiled) { profiler.connect(); await profiler.post('Profiler.enable'); await profiler.post('Profiler.start') }
    const c0 = await cpuMs()
    const t0 = performance.now()
    for (let b = 0; b < batches; b++) await methods[name](work[b]!, bodies[b]!)
    took[name] = performance.now() - t0
    const c1 = await cpuMs()
    if (profiled) {
      const { profile } = await profiler.post('Profiler.stop')
      writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify(profile))
      profiler.disconnect()
    }
    if (round > 0) {
      ingestCpu[name].node += c1.node - c0.node
      ingestCpu[name].pg += c1.pg - c0.pg
    }
  }
  if (round === 0) continue
  ingestMs.baseline += took.baseline
  ingestMs.sealed += took.sealed
  ingestRatios.push((took.baseline / took.sealed).toFixed(2))
  ingested += batches * 1000
}
const perSec = (ms: number) => ingested / (ms / 1000)
const perBatch = (ms: number) => (ms / (ingested / 1000)).toFixed(1)
const ingestLine = `ingest rows/s: baseline INSERT ${perSec(ingestMs.baseline).toFixed(0)}, sealed PUT over HTTP ${perSec(ingestMs.sealed).toFixed(0)}; ` +
  `ratio ${(ingestMs.baseline / ingestMs.sealed).toFixed(2)} (rounds ${ingestRatios.join(', ')})\n` +
  `ingest CPU ms per 1,000 rows: baseline node ${perBatch(ingestCpu.baseline.node)} + PostgreSQL ${perBatch(ingestCpu.baseline.pg)}, ` +
  `sealed node ${perBatch(ingestCpu.sealed.node)} + PostgreSQL ${perBatch(ingestCpu.sealed.pg)}; wall ms per 1,000 rows: baseline ${perBatch(ingestMs.baseline)}, sealed ${perBatch(ingestMs.sealed)}`
if (!withReads) {
  console.log(`PostgreSQL; ${bench.config.DATAGATE_CIPHER}; 12 fields, all 6 PI fields sealed; ingest ${ingested} rows per side in 1,000-row batches (${rounds - 1} measured rounds)`)
  console.log(ingestLine)
  await baseline.end()
  await app.close()
  await bench.drop()
  process.exit(0)
}
// the same records in the clear, as releases before this one stored them (written past ingest; the
// sweep that would seal them is off in this run): what the read cost before sealing
await insertBenchDataset(bench, { code: 'people_clear', subject: 'people_clear', fields: FIELDS, primary_key: ['record_no'], holds_pi: true })
const batch = randomUUID()
await baseline.query('insert into ingest_batches (id, dataset_code, unit, sub, client, format, received, accepted, rejected, errors) values ($1, \'people_clear\', \'CS\', \'bench\', null, \'json\', 0, 0, 0, \'{}\')', [batch])
await baseline.query(`insert into records (dataset_code, record_key, data, person_key, batch_id, source_unit, source_sub, source_client)
  select 'people_clear', record_key, data, null, $1, 'CS', 'bench', null from baseline_records`, [batch])
await baseline.end()
const stored = next / 2 // records in `people` (the other half went to the baseline table)
await sql`vacuum analyze records`.execute(app.db)

// reads: the bare route, the masked read (kept forms: nothing opened), the unmasked read (every row opened)
const bare = await startBareRoute(bench, 'people', pageSize)
const keys = (await app.db.selectFrom('records').select('record_key').where('dataset_code', '=', 'people').orderBy('record_key').execute()).map((r) => r.record_key)
const positions = Array.from({ length: 2000 }, () => keys[Math.floor(Math.random() * Math.max(1, keys.length - pageSize))]!)
const masked = await insertBenchGrant(bench, { dataset: 'people', fields: FIELDS.map((f) => f.name), accessModes: ['api'] })
const unmasked = await insertBenchGrant(bench, { dataset: 'people', fields: FIELDS.map((f) => f.name), accessModes: ['api'], masked: false })
const clearGrant = await insertBenchGrant(bench, { dataset: 'people_clear', fields: FIELDS.map((f) => f.name), accessModes: ['api'] })
const dataUrls = (grant: string, dataset = 'people') => positions.map((k) => `/api/v1/data/${dataset}/records?grant=${grant}&limit=${pageSize}&cursor=${sealCursor(maskingKey, grant, k)}`)

async function measure (target: number, paths: string[], headers: Record<string, string> = {}) {
  let i = 0
  const opts = { url: `http://127.0.0.1:${target}`, connections, headers, requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: paths[i++ % paths.length]! }) }] }
  await autocannon({ ...opts, duration: 2 })
  const result = await autocannon({ ...opts, duration: seconds })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.average
}
const auth = { authorization: `Bearer ${reader}` }
const reads: { bare: number, clear: number, masked: number, unmasked: number }[] = []
for (let round = 0; round < 3; round++) {
  reads.push({
    bare: await measure(bare.port, positions.map((k) => `/records?after=${k}`)),
    clear: await measure(port, dataUrls(clearGrant.id, 'people_clear'), auth),
    masked: await measure(port, dataUrls(masked.id), auth),
    unmasked: await measure(port, dataUrls(unmasked.id), auth)
  })
}

console.log(`PostgreSQL; ${bench.config.DATAGATE_CIPHER}; 12 fields, all 6 PI fields sealed; ingest ${ingested} rows per side in 1,000-row batches (${rounds - 1} measured rounds); ` +
  `reads of ${pageSize}-row pages of ${stored} records, ${connections} connections, ${seconds} s, 3 rounds`)
console.log(ingestLine)
for (const [n, r] of reads.entries()) {
  console.log(`read round ${n + 1} req/s: bare route ${r.bare.toFixed(0)}, masked in the clear (as before) ${r.clear.toFixed(0)} ratio ${(r.clear / r.bare).toFixed(2)}, masked (kept forms) ${r.masked.toFixed(0)} ratio ${(r.masked / r.bare).toFixed(2)}, ` +
    `unmasked (opens every row) ${r.unmasked.toFixed(0)} ratio ${(r.unmasked / r.bare).toFixed(2)}`)
}
const sum = (pick: (r: typeof reads[number]) => number) => reads.reduce((a, r) => a + pick(r), 0)
console.log(`all rounds: masked in the clear ${(sum((r) => r.clear) / sum((r) => r.bare)).toFixed(2)}, masked sealed ${(sum((r) => r.masked) / sum((r) => r.bare)).toFixed(2)}, unmasked ${(sum((r) => r.unmasked) / sum((r) => r.bare)).toFixed(2)} of the bare route`)

await bare.close()
await app.close()
await bench.drop()
