// Record ingest throughput: PUT /api/v1/datasets/{code}/records (token, body parsing, row validation,
// upsert with provenance, batch row, domain event, one transaction) against a baseline multi-row
// INSERT of the same rows through `pg` into a plain table (dataset_code, record_key, data jsonb,
// primary key), on the same server in the same run. Also the validation + repository calls without
// HTTP, and re-ingest of existing records (every row an update).
//
//   npx tsx bench/ingest.ts
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_BATCH_SIZE=1000 BENCH_BATCHES=20 BENCH_ROUNDS=5 npx tsx bench/ingest.ts
//   BENCH_PRELOAD_ROWS=10000000 npx tsx bench/ingest.ts     # the same on tables already holding 10 million rows
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { createDatasetRepository } from '../src/catalog/datasets/repository.js'
import { idNumberCheckCharacter } from '../src/platform/id-number.js'
import { createRecordRepository } from '../src/catalog/records/repository.js'
import { validateBatch } from '../src/catalog/records/validate.js'
import type { StoredField } from '../src/db/database.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'
import { recordEvent } from '../src/platform/events.js'
import { benchDatabase, field, insertBenchDataset } from './people.js'

const batchSize = Number(process.env.BENCH_BATCH_SIZE ?? 1000)
const batches = Number(process.env.BENCH_BATCHES ?? 20)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
/** records (and baseline rows) stored before measuring, e.g. 10000000 for the at-scale figures */
const preload = Number(process.env.BENCH_PRELOAD_ROWS ?? 0)

type Row = Record<string, unknown>

const FIELDS: StoredField[] = [
  field('student_id', 'string', { required: true, piType: 'student_id', sensitivity: 3, pattern: '^[0-9]{10}$' }),
  field('name', 'string', { required: true, piType: 'name', sensitivity: 3, maxLength: 50 }),
  field('id_number', 'string', { piType: 'id_number', sensitivity: 3, format: 'id_number' }),
  field('phone', 'string', { piType: 'phone', sensitivity: 3, format: 'mobile' }),
  field('email', 'string', { piType: 'email', sensitivity: 3, format: 'email' }),
  field('college', 'string', { required: true, enum: ['CS', 'MATH', 'LAW', 'PHYS', 'CHEM'] }),
  field('year', 'integer', { minimum: 2000, maximum: 2100 }),
  field('gpa', 'number', { minimum: 0, maximum: 5 }),
  field('active', 'boolean'),
  field('enrolled_on', 'date'),
  field('updated', 'datetime')
]

/** A realistic student record: every field set, a valid ID number, about 330 bytes of JSON. */
function student (n: number): Row {
  const birth = `${2000 + (n % 8)}${String(1 + (n % 12)).padStart(2, '0')}${String(1 + (n % 28)).padStart(2, '0')}`
  const first17 = `110105${birth}${String(n % 1000).padStart(3, '0')}`
  return {
    student_id: String(2_000_000_000 + n),
    name: `Student Number ${n}`,
    id_number: first17 + idNumberCheckCharacter(first17),
    phone: `138${String(n % 100_000_000).padStart(8, '0')}`,
    email: `student.${n}@mail.example.edu.cn`,
    college: ['CS', 'MATH', 'LAW', 'PHYS', 'CHEM'][n % 5],
    year: 2020 + (n % 7),
    gpa: Math.round((n % 500) / 100 * 100) / 100,
    active: n % 10 !== 0,
    enrolled_on: `${2020 + (n % 7)}-09-01`,
    updated: '2026-11-24T08:00:00+08:00'
  }
}

// a database of its own, the schema, a producer unit and its dataset
const bench = await benchDatabase()
const { config, database, url } = bench
await database.db.insertInto('units').values({ code: 'CS', name: 'School of Computer Science', officer_name: 'Li Wei', officer_contact: 'liwei@example.edu.cn' }).execute()
await insertBenchDataset(bench, { code: 'students', name: 'Students', personnel_basic: true, holds_pi: true, person_key: 'student_id', fields: FIELDS })

const key = loadSigningKey(config, { generate: true })!
const app = await buildApp({ config, database, mode: 'all', keys: { signing: key, verification: key }, logger: false, closeDatabase: false })
await app.listen({ port: 0, host: '127.0.0.1' })
const endpoint = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1/datasets/students/records`
const token = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
  .sign({ sub: 'bench', unit: 'CS', roles: ['steward'] }, 3600)

const baseline = new pg.Client({ connectionString: url })
await baseline.connect()
await baseline.query('create table baseline_records (dataset_code text not null, record_key text not null, data jsonb not null, primary key (dataset_code, record_key))')

if (preload > 0) {
  // generated in SQL (minutes, not hours): the same shape of record in both tables, keys above the measured ones
  const started = performance.now()
  const record = `jsonb_build_object('student_id', (3000000000 + g)::text, 'name', 'Student Number ' || g, 'id_number', '11010520000101001' || (g % 10),
    'phone', '138' || lpad((g % 100000000)::text, 8, '0'), 'email', 'student.' || g || '@mail.example.edu.cn', 'college', 'CS', 'year', 2026,
    'gpa', 3.5, 'active', true, 'enrolled_on', '2026-09-01', 'updated', '2026-11-24T08:00:00+08:00')`
  await baseline.query(`insert into baseline_records select 'students', (3000000000 + g)::text, ${record} from generate_series(1, ${preload}) g`)
  await baseline.query(`insert into records (dataset_code, record_key, data, person_key, batch_id, source_unit, source_sub)
    select 'students', (3000000000 + g)::text, ${record}, (3000000000 + g)::text, '00000000-0000-4000-8000-000000000000', 'CS', 'preload'
    from generate_series(1, ${preload}) g`)
  await baseline.query('vacuum analyze baseline_records')
  await baseline.query('vacuum analyze records')
  await baseline.query('checkpoint') // the load's dirty pages are not written during the measurement (needs superuser or pg_checkpoint)
  console.log(`preloaded ${preload} rows into each table in ${((performance.now() - started) / 1000).toFixed(0)} s`)
}

/** Each method writes its own key range, so that every measured row is a fresh insert (or, for `replace`, an update). */
let next = 0
function makeBatches (count: number): Row[][] {
  return Array.from({ length: count }, () => Array.from({ length: batchSize }, () => student(next++)))
}

type Method = (rows: Row[], body: string) => Promise<void>

const methods: Record<string, Method> = {
  async baseline (rows) {
    const params: unknown[] = []
    const values = rows.map((row, i) => {
      params.push('students', row.student_id, JSON.stringify(row))
      return `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`
    })
    await baseline.query(`insert into baseline_records (dataset_code, record_key, data) values ${values.join(', ')}`, params)
  },
  async http (_rows, body) {
    const res = await fetch(endpoint, { method: 'PUT', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } })
    const result = await res.json() as { accepted: number }
    if (res.status !== 200 || result.accepted !== batchSize) throw new Error(`ingest: ${res.status} ${JSON.stringify(result).slice(0, 300)}`)
  },
  async inject (_rows, body) {
    const res = await app.inject({ method: 'PUT', url: '/api/v1/datasets/students/records', payload: body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } })
    if (res.statusCode !== 200 || res.json().accepted !== batchSize) throw new Error(`ingest: ${res.statusCode} ${res.body.slice(0, 300)}`)
  },
  async direct (rows) {
    // what the handler does, without HTTP, token and JSON (de)serialization of the body
    const datasets = createDatasetRepository(database.db)
    const records = createRecordRepository(database.db)
    await database.db.transaction().execute(async (trx) => {
      const dataset = (await datasets.findForUpdate('students', trx))!
      const outcome = validateBatch({ fields: dataset.fields, primaryKey: dataset.primary_key, personKey: dataset.person_key }, rows)
      if (outcome.rejected.length > 0) throw new Error(JSON.stringify(outcome.rejected[0]))
      const who = { batch: randomUUID(), unit: 'CS', sub: 'bench', client: null }
      const counts = { received: rows.length, accepted: outcome.valid.length, rejected: 0 }
      await records.ingest({ ...who, ...counts, dataset: 'students', format: 'json', errors: {} }, outcome.valid, trx)
      await recordEvent(trx, {
        service: 'catalog',
        action: 'records.ingest',
        actor: { sub: 'bench', unit: 'CS', roles: ['steward'] },
        objectType: 'dataset',
        objectId: 'students',
        dataset: 'students',
        details: { batch: who.batch, ...counts }
      })
    })
  }
}

const elapsed: Record<string, number> = { warmup: 0, baseline: 0, http: 0, inject: 0, direct: 0, replace: 0 }
const sent: Row[][] = []
async function measure (name: string, method: Method, work: Row[][]) {
  const bodies = work.map((rows) => JSON.stringify(rows)) // client-side serialization is not timed
  const started = performance.now()
  for (let i = 0; i < work.length; i++) await method(work[i]!, bodies[i]!)
  elapsed[name]! += performance.now() - started
}

// warm-up (JIT, connections, plan caches), then rounds that interleave the methods, each round in
// another order, so that drift and the background writes one method leaves behind spread over all
const order = ['baseline', 'http', 'inject', 'direct'] as const
for (const name of order) await measure('warmup', methods[name]!, makeBatches(3))
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < order.length; i++) {
    const name = order[(round + i) % order.length]!
    const work = makeBatches(batches)
    await measure(name, methods[name]!, work)
    if (name === 'http') sent.push(...work)
  }
}
await measure('replace', methods.http!, sent.slice(0, batches * rounds).map((rows) => rows.map((r) => ({ ...r, active: !r.active }))))

const rowsPerMethod = batches * rounds * batchSize
const rate = (name: string) => rowsPerMethod / (elapsed[name]! / 1000)
const version = (await baseline.query('show server_version')).rows[0].server_version as string
console.log(`PostgreSQL ${version}; ${batchSize}-row batches, ${rounds} rounds × ${batches} batches per method (${rowsPerMethod} rows each), sequential`)
console.log(`${'baseline: pg multi-row INSERT (3 columns, PK)'.padEnd(58)} ${rate('baseline').toFixed(0).padStart(7)} rows/s`)
for (const [name, label] of [
  ['http', 'datagate: PUT over HTTP, fetch to a listening app'],
  ['inject', 'datagate: PUT through app.inject (no socket)'],
  ['direct', 'datagate: validation + repository, no HTTP'],
  ['replace', 'datagate: PUT over HTTP, every row an update']
] as const) {
  console.log(`${label.padEnd(58)} ${rate(name).toFixed(0).padStart(7)} rows/s   ratio ${(rate(name) / rate('baseline')).toFixed(2)}`)
}

// keyset pages: the first and one deep in the key range, through the repository
const records = createRecordRepository(database.db)
for (const [label, after] of [['first page', undefined], ['deep page', String(3_000_000_000 + Math.floor(preload * 0.9))]] as const) {
  await records.page('students', { limit: 200, ...(after ? { after } : {}) })
  const started = performance.now()
  for (let i = 0; i < 20; i++) await records.page('students', { limit: 200, ...(after ? { after } : {}) })
  console.log(`keyset page of 200 records (${label}): ${((performance.now() - started) / 20).toFixed(1)} ms`)
}

await baseline.end()
await app.close()
await bench.drop()
