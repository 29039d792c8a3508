// The data path under a grant resting on consent against the same read under a grant without:
// GET /api/v1/data/{dataset}/records, 100-row pages at random positions of the `people` dataset
// (6 of 12 fields masked), where half the persons (every other key) hold a valid consent for the
// grant's purpose. The consent grant's query semi-joins consents (consents_row_idx) and skips the
// others' rows, so a page scans about 200 rows for 100, and the audit event counts the skipped
// ones (a second, index-range count). Both sides are the whole platform, in the same process and
// run, on PostgreSQL, in alternating rounds.
//
//   npx tsx bench/consent-read.ts                          # 1,000,000 rows, 50 connections
//   BENCH_ROWS=100000 npx tsx bench/consent-read.ts        # a smaller dataset
//   BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_ROUNDS=3 npx tsx bench/consent-read.ts
import autocannon from 'autocannon'
import { sql } from 'kysely'
import { sealCursor } from '../src/gateway/data/plan.js'
import { benchDatabase, insertBenchGrant, PEOPLE_FIELDS, seedPeople, startPlatform } from './people.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rowsInDataset = Number(process.env.BENCH_ROWS ?? 1_000_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const pageSize = 100

// loading and sealing a million rows takes longer than the platform's default statement timeout
const bench = await benchDatabase({ STATEMENT_TIMEOUT_MS: '600000' })
const db = bench.database.db
const plain = await seedPeople(bench, rowsInDataset, ['api'])
const started = Date.now()
await db.insertInto('purposes').values({ code: 'bench', name_zh: '基准', name_en: 'benchmark', description: 'benchmark reads', created_by: 'bench' }).execute()
// every other person consented: keys 0000000002, 0000000004, …
await sql`
  insert into consents (unit_code, person_key, dataset_code, purpose_code, kind, evidence, given_at, recorded_by)
  select 'CS', lpad(i::text, 10, '0'), 'people', 'bench', 'general', 'bench form', now() - interval '1 day', 'bench'
  from generate_series(2, ${rowsInDataset}::int, 2) as i`.execute(db)
await sql`vacuum analyze consents`.execute(db)
console.log(`${Math.floor(rowsInDataset / 2)} consents loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`)
const onConsent = await insertBenchGrant(bench, { dataset: 'people', fields: PEOPLE_FIELDS.map((f) => f.name), accessModes: ['api'] })
await db.updateTable('grants').set({ consent_based: true, purpose_code: 'bench' }).where('id', '=', onConsent.id).execute()
const { app, token, maskingKey } = await startPlatform(bench)
const port = (app.server.address() as { port: number }).port

// the same random positions for both grants, as each grant's sealed cursor
const positions = Array.from({ length: 2000 }, () => String(1 + Math.floor(Math.random() * Math.max(1, rowsInDataset - 2 * pageSize))).padStart(10, '0'))
const urlsOf = (grant: string) => positions.map((k) => `/api/v1/data/people/records?grant=${grant}&limit=${pageSize}&cursor=${sealCursor(maskingKey, grant, k)}`)
const plainUrls = urlsOf(plain.id)
const consentUrls = urlsOf(onConsent.id)

// a page under consent is full too (the consented persons are half of every range)
const check = await (await fetch(`http://127.0.0.1:${port}${consentUrls[0]}`, { headers: { authorization: `Bearer ${token}` } })).json() as { data: unknown[] }
if (check.data.length !== pageSize) throw new Error(`a page under consent holds ${check.data.length} rows`)

// BENCH_EXPLAIN=1: the plan of a page under consent, as the reader's query runs it
if (process.env.BENCH_EXPLAIN) {
  const { rows } = await sql<{ 'QUERY PLAN': string }>`explain (analyze, buffers) select record_key, data, person_key from records
    where dataset_code = 'people' and exists (select 1 from consents c where c.dataset_code = 'people' and c.purpose_code = 'bench'
      and c.person_key = records.person_key and c.status = 'active' and (c.expires_at is null or c.expires_at > now()))
      and record_key > ${positions[0]!} order by record_key limit ${pageSize + 1}`.execute(db)
  console.log(rows.map((r) => r['QUERY PLAN']).join('\n'))
}

async function measure (paths: string[]) {
  let i = 0
  const opts = {
    url: `http://127.0.0.1:${port}`,
    connections,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: paths[i++ % paths.length]! }) }]
  }
  await autocannon({ ...opts, duration: 2 }) // warm-up
  const result = await autocannon({ ...opts, duration: seconds })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 }
}

const results: { plain: Awaited<ReturnType<typeof measure>>, consent: Awaited<ReturnType<typeof measure>> }[] = []
for (let round = 1; round <= rounds; round++) {
  // alternate which side runs first
  if (round % 2 === 1) {
    const p = await measure(plainUrls)
    results.push({ plain: p, consent: await measure(consentUrls) })
  } else {
    const c = await measure(consentUrls)
    results.push({ consent: c, plain: await measure(plainUrls) })
  }
}

console.log(`PostgreSQL; ${rowsInDataset} rows, half the persons consented; ${pageSize}-row pages; ${connections} connections, ${seconds} s each, ${rounds} rounds`)
for (const [n, r] of results.entries()) {
  console.log(`round ${n + 1}: without consent ${r.plain.rps.toFixed(0)} req/s (p50 ${r.plain.p50} ms, p99 ${r.plain.p99} ms); ` +
    `on consent ${r.consent.rps.toFixed(0)} req/s (p50 ${r.consent.p50} ms, p99 ${r.consent.p99} ms); ratio ${(r.consent.rps / r.plain.rps).toFixed(2)}`)
}
const sum = (pick: (r: typeof results[number]) => number) => results.reduce((n, r) => n + pick(r), 0)
console.log(`all rounds: throughput ratio (on consent / without) ${(sum((r) => r.consent.rps) / sum((r) => r.plain.rps)).toFixed(2)}; ` +
  `p99 ratio ${(sum((r) => r.consent.p99) / sum((r) => r.plain.p99)).toFixed(2)}`)

await app.close()
await bench.drop()
