// The person-access trace (docs/audit.md): what it costs and how fast it answers.
// (a) GET /api/v1/audit/persons/{personKey}/accesses on a log of BENCH_EVENTS events (default
//     10,000,000) over six monthly partitions, each event tracing BENCH_PERSONS_PER_EVENT persons
//     (default 2) of a population of BENCH_POPULATION (default 100,000): the events and their traces
//     are generated with generate_series straight into PostgreSQL, the digests by the platform's own
//     tracer. Sequential lookups of random persons through HTTP (token, flush, the indexed query, the
//     audit event of the lookup): median, p95 and max.
// (b) the read of bench/data-read.ts (100-row pages at random positions of the `people` dataset, 50
//     connections) on two platforms over the same database, one tracing (AUDIT_PERSON_TRACE=all: the
//     dataset holds personal information) and one not (off), in alternating rounds: the ratio.
//
//   npx tsx bench/person-trace.ts
//   BENCH_EVENTS=1000000 BENCH_ROWS=100000 BENCH_SECONDS=5 npx tsx bench/person-trace.ts
//   BENCH_PART=a|b npx tsx bench/person-trace.ts                  # one part only
import autocannon from 'autocannon'
import { sql } from 'kysely'
import { personTracerOf } from '../src/audit/persons/trace.js'
import { sealCursor } from '../src/gateway/data/plan.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { benchDatabase, seedPeople, startPlatform, type BenchDatabase } from './people.js'

const part = process.env.BENCH_PART ?? 'ab'
const events = Number(process.env.BENCH_EVENTS ?? 10_000_000)
const perEvent = Number(process.env.BENCH_PERSONS_PER_EVENT ?? 2)
const population = Number(process.env.BENCH_POPULATION ?? 100_000)
const lookups = Number(process.env.BENCH_LOOKUPS ?? 50)
const rowsInDataset = Number(process.env.BENCH_ROWS ?? 200_000)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const CHUNK = 1_000_000
const pageSize = 100

const personKey = (i: number) => String(i).padStart(10, '0')
const elapsed = (from: number) => `${((performance.now() - from) / 1000).toFixed(0)} s`
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/** `events` read events over the last 180 days, and their traces, loaded with generate_series. */
async function loadLog (bench: BenchDatabase) {
  const db = bench.database.db
  const tracer = personTracerOf(bench.config)
  const digests = Array.from({ length: population }, (_, i) => tracer.candidates(personKey(i + 1))[0]!.toString('hex'))
  await sql`create table bench_persons (i int primary key, digest bytea not null)`.execute(db)
  await sql`insert into bench_persons select n, decode(d, 'hex') from unnest(${digests}::text[]) with ordinality as u(d, n)`.execute(db)
  await sql`select audit_create_partition(now() - make_interval(months => m)) from generate_series(0, 6) m`.execute(db)
  // the trace's keys are built once after the load: one sort instead of 20 million random inserts
  await sql`alter table audit_person_accesses drop constraint audit_person_accesses_pkey`.execute(db)
  const t0 = performance.now()
  const end = new Date().toISOString() // one instant for both inserts: a trace names its event by (seq, recorded_at)
  for (let from = 1; from <= events; from += CHUNK) {
    const to = Math.min(events, from + CHUNK - 1)
    const series = sql`(select i, ${end}::timestamptz - (${events}::bigint - i) * (interval '180 days' / ${events}::bigint) as t
                          from generate_series(${from}::bigint, ${to}::bigint) as i) s`
    await sql`
      insert into audit_events (seq, occurred_at, recorded_at, service, action, operation, outcome, actor_sub, actor_unit, actor_roles,
                                object_type, object_id, dataset_code, fields, row_count, grant_id, details, hash_alg, prev_hash, hash)
      select i, t, t, 'gateway', case when i % 50 = 0 then 'export' else 'query' end,
             case when i % 50 = 0 then 'data.export.write' else 'data.records.read' end, 'success',
             'reader-' || (i % 500), (array['CS','MATH','LAW','MED'])[1 + i % 4], '{consumer}', 'dataset',
             (array['people','health','kids'])[1 + i % 3], (array['people','health','kids'])[1 + i % 3],
             '{student_id,name,phone}', 100, null, '{"masked":["name","phone"]}', 'sha256', 'bench', 'bench'
        from ${series}`.execute(db)
    await sql`
      insert into audit_person_accesses (digest, seq, recorded_at)
      select p.digest, s.i, s.t from ${series}
        cross join generate_series(1, ${perEvent}::int) as k
        join bench_persons p on p.i = 1 + ((s.i * 7919 + k * 104729) % ${population}::bigint)`.execute(db)
    console.log(`  ${to} events loaded (${elapsed(t0)})`)
  }
  await sql`alter table audit_person_accesses add constraint audit_person_accesses_pkey primary key (digest, seq)`.execute(db)
  await sql`update audit_chain_head set seq = ${events}::bigint`.execute(db)
  await sql`analyze`.execute(db)
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from audit_person_accesses`.execute(db)
  console.log(`loaded ${events} events and ${rows[0]!.n} traces in ${elapsed(t0)}`)
}

async function partA () {
  const bench = await benchDatabase({ STATEMENT_TIMEOUT_MS: '600000' }) // the load's statements run for minutes
  const { app, port } = await startPlatform(bench) // makes the data dir's master key, which the tracer derives from
  try {
    await loadLog(bench)
    const key = loadSigningKey(bench.config, { generate: false })!
    const token = createTokenIssuer(key, { issuer: bench.config.JWT_ISSUER, audience: bench.config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
      .sign({ sub: 'bench-auditor', unit: 'OFFICE', roles: ['auditor'] }, 3600)
    const since = new Date(Date.now() - 30 * 86_400_000).toISOString()
    for (const [label, query] of [['first page of 50', '?limit=50'], ['one dataset', '?limit=50&dataset=health'], ['the last 30 days', `?limit=50&from=${since}`]] as const) {
      const times: number[] = []
      let found = 0
      for (let n = 0; n < lookups; n++) {
        const who = personKey(1 + Math.floor(Math.random() * population))
        const t = performance.now()
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/audit/persons/${who}/accesses${query}`, { headers: { authorization: `Bearer ${token}` } })
        const body = await res.json() as { data: unknown[] }
        times.push(performance.now() - t)
        if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(body)}`)
        if (body.data.length === 0 && !query.includes('from=')) throw new Error(`no access found for ${who}: the load is broken`)
        found += body.data.length
      }
      times.sort((a, b) => a - b)
      console.log(`lookup, ${label}: median ${quantile(times, 0.5).toFixed(1)} ms, p95 ${quantile(times, 0.95).toFixed(1)} ms, ` +
        `max ${times.at(-1)!.toFixed(1)} ms over ${lookups} persons (${(found / lookups).toFixed(0)} accesses a page on average)`)
    }
  } finally {
    await app.close()
    await bench.drop()
  }
}

async function partB () {
  const bench = await benchDatabase({ AUDIT_PERSON_TRACE: 'all', STATEMENT_TIMEOUT_MS: '600000' })
  const grant = await seedPeople(bench, rowsInDataset, ['api'])
  const traced = await startPlatform(bench)
  const untraced = await startPlatform({ ...bench, config: { ...bench.config, AUDIT_PERSON_TRACE: 'off' } })
  try {
    const positions = Array.from({ length: 2000 }, () => String(1 + Math.floor(Math.random() * Math.max(1, rowsInDataset - pageSize))).padStart(10, '0'))
    const paths = positions.map((k) => `/api/v1/data/people/records?limit=${pageSize}&cursor=${sealCursor(traced.maskingKey, grant.id, k)}`)
    const measure = async (port: number, token: string) => {
      let i = 0
      const opts = { url: `http://127.0.0.1:${port}`, connections, headers: { authorization: `Bearer ${token}` }, requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: paths[i++ % paths.length]! }) }] }
      await autocannon({ ...opts, duration: 3 }) // warm-up
      const result = await autocannon({ ...opts, duration: seconds })
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
      return { rps: result.requests.average, p99: result.latency.p99 }
    }
    console.log(`PostgreSQL; ${rowsInDataset} rows; ${pageSize}-row pages; ${connections} connections, ${seconds} s each, ${rounds} rounds`)
    let on = 0
    let off = 0
    for (let round = 1; round <= rounds; round++) {
      // neither side always first
      const first = round % 2 === 1 ? 'traced' : 'untraced'
      const a = await measure((first === 'traced' ? traced : untraced).port, traced.token)
      const b = await measure((first === 'traced' ? untraced : traced).port, traced.token)
      const [t, u] = first === 'traced' ? [a, b] : [b, a]
      on += t.rps
      off += u.rps
      console.log(`round ${round}: tracing off ${u.rps.toFixed(0)} req/s (p99 ${u.p99} ms); tracing on ${t.rps.toFixed(0)} req/s (p99 ${t.p99} ms); ratio ${(t.rps / u.rps).toFixed(2)}`)
    }
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from audit_person_accesses`.execute(bench.database.db)
    console.log(`all rounds: ratio ${(on / off).toFixed(2)} (${rows[0]!.n} traces written)`)
  } finally {
    await untraced.app.close()
    await traced.app.close()
    await bench.drop()
  }
}

if (part.includes('b')) await partB()
if (part.includes('a')) await partA()
