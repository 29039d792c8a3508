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
//     With BENCH_SPLIT=1 a third platform state between them: tracing on, the trace's rows dropped
//     by a trigger (what remains is the digesting in Node and the parsing of the batch). Besides the
//     throughput, the CPU time a request took in this process and in the database's backends. The
//     records carry the person digests ingest makes (made by the catalog's backfill after the
//     load); BENCH_DIGESTS=0 leaves them without, so that every read hashes its persons.
// (c) the audit writer alone, as the read path drives it: 50 concurrent appenders, BENCH_WRITES
//     events (default 20,000) tracing 100 random persons each (of 200,000), alternating with as
//     many events tracing none; the time and the database's CPU time an event, the merges of the
//     index's pending list included (as the log's background work makes them; BENCH_MERGE=0: only
//     by the inserts that fill it; BENCH_INDEX='fastupdate = off' or another storage parameter of
//     the index).
//
//   npx tsx bench/person-trace.ts                                 # (b) then (a)
//   BENCH_EVENTS=1000000 BENCH_ROWS=100000 BENCH_SECONDS=5 npx tsx bench/person-trace.ts
//   BENCH_PART=a|b|c npx tsx bench/person-trace.ts                # one part only
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import { backfillPersonDigests } from '../src/audit/persons/backfill.js'
import { createTraceMerge } from '../src/audit/persons/merge.js'
import { createPersonAccessRepository } from '../src/audit/persons/repository.js'
import { storedDigest, tracePrefix } from '../src/audit/persons/stored.js'
import { personTracerOf } from '../src/audit/persons/trace.js'
import { createAuditWriter } from '../src/audit/writer.js'
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
  const digests = Array.from({ length: population }, (_, i) => storedDigest(tracer.candidates(personKey(i + 1))[0]!))
  await sql`create table bench_persons (i int primary key, prefix int not null, digest bytea not null)`.execute(db)
  await sql`insert into bench_persons select n, p, decode(d, 'hex')
              from unnest(${digests.map(tracePrefix)}::int[], ${digests.map((d) => d.toString('hex'))}::text[]) with ordinality as u(p, d, n)`.execute(db)
  await sql`select audit_create_partition(now() - make_interval(months => m)) from generate_series(0, 6) m`.execute(db)
  // the trace's index is built once after the load (as its migration defines it): one build instead of 10 million merges
  const index = (await sql<{ def: string }>`select indexdef as def from pg_indexes where indexname = 'audit_person_reads_prefixes'`.execute(db)).rows[0]!.def
  await sql`drop index audit_person_reads_prefixes`.execute(db)
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
      insert into audit_person_reads (seq, recorded_at, prefixes, digests)
      select s.i, s.t, array_agg(p.prefix order by k), string_agg(p.digest, ''::bytea order by k) from ${series}
        cross join generate_series(1, ${perEvent}::int) as k
        join bench_persons p on p.i = 1 + ((s.i * 7919 + k * 104729) % ${population}::bigint)
       group by s.i, s.t`.execute(db)
    console.log(`  ${to} events loaded (${elapsed(t0)})`)
  }
  await sql.raw(index).execute(db)
  await sql`update audit_chain_head set seq = ${events}::bigint`.execute(db)
  await sql`analyze`.execute(db)
  console.log(`loaded ${events} events and ${await traceCount(bench)} traces in ${elapsed(t0)}`)
}

/** Persons traced, summed over the events. */
async function traceCount (bench: BenchDatabase): Promise<string> {
  const { rows } = await sql<{ n: string }>`select coalesce(sum(cardinality(prefixes)), 0)::text as n from audit_person_reads`.execute(bench.database.db)
  return rows[0]!.n
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

/**
 * CPU time (ms) so far of this process (the platforms and the load generator) and of the PostgreSQL
 * backends serving the bench database (Linux /proc): a cost per request that the machine's other
 * load does not change, beside the throughput that it does.
 */
function cpuNow (database: string): { node: number, pg: number } {
  const usage = process.cpuUsage()
  let pg = 0
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(database)) continue
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      pg += (Number(fields[11]) + Number(fields[12])) * 1000 / 100 // clock ticks (USER_HZ 100)
    } catch {} // gone meanwhile
  }
  return { node: (usage.user + usage.system) / 1000, pg }
}

type Variant = 'off' | 'on' | 'unstored'

async function partB () {
  const bench = await benchDatabase({ AUDIT_PERSON_TRACE: 'all', STATEMENT_TIMEOUT_MS: '600000' })
  const database = new URL(bench.url).pathname.slice(1)
  const db = bench.database.db
  const grant = await seedPeople(bench, rowsInDataset, ['api'])
  // the digests ingest makes for a traced dataset, made here by the backfill the catalog process
  // runs for records stored without one (BENCH_DIGESTS=0: none, every read hashes its persons)
  if (process.env.BENCH_DIGESTS !== '0') {
    console.log('person digests…')
    await backfillPersonDigests(db, personTracerOf(bench.config), new Set())
    await sql`vacuum analyze records`.execute(db)
  }
  const traced = await startPlatform(bench)
  const untraced = await startPlatform({ ...bench, config: { ...bench.config, AUDIT_PERSON_TRACE: 'off' } })
  // `unstored` (BENCH_SPLIT=1): the traced platform digests its persons and sends them, and a trigger
  // drops the trace's rows: what is left of the cost is Node's (and the parsing of the batch)
  await sql`create function bench_unstored() returns trigger language plpgsql as $$ begin return null; end $$`.execute(db)
  const variants: Variant[] = process.env.BENCH_SPLIT === '1' ? ['off', 'unstored', 'on'] : ['off', 'on']
  try {
    const positions = Array.from({ length: 2000 }, () => String(1 + Math.floor(Math.random() * Math.max(1, rowsInDataset - pageSize))).padStart(10, '0'))
    const paths = positions.map((k) => `/api/v1/data/people/records?limit=${pageSize}&cursor=${sealCursor(traced.maskingKey, grant.id, k)}`)
    const measure = async (variant: Variant) => {
      let i = 0
      const port = variant === 'off' ? untraced.port : traced.port
      const opts = { url: `http://127.0.0.1:${port}`, connections, headers: { authorization: `Bearer ${traced.token}` }, requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, path: paths[i++ % paths.length]! }) }] }
      if (variant === 'unstored') await sql`create trigger bench_unstored before insert on audit_person_reads for each row execute function bench_unstored()`.execute(db)
      try {
        await autocannon({ ...opts, duration: 3 }) // warm-up
        const before = cpuNow(database)
        const result = await autocannon({ ...opts, duration: seconds })
        const after = cpuNow(database)
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
        const n = result.requests.total
        return { rps: result.requests.average, p99: result.latency.p99, node: (after.node - before.node) / n, pg: (after.pg - before.pg) / n }
      } finally {
        if (variant === 'unstored') await sql`drop trigger bench_unstored on audit_person_reads`.execute(db)
      }
    }
    console.log(`PostgreSQL; ${rowsInDataset} rows; ${pageSize}-row pages; ${connections} connections, ${seconds} s each, ${rounds} rounds; load average ${loadavg()[0]!.toFixed(1)}`)
    const sums = new Map<Variant, { rps: number, cpu: number }>(variants.map((v) => [v, { rps: 0, cpu: 0 }]))
    for (let round = 1; round <= rounds; round++) {
      // neither side always first
      const order = round % 2 === 1 ? variants : [...variants].reverse()
      const line: string[] = []
      const results = new Map<Variant, Awaited<ReturnType<typeof measure>>>()
      for (const v of order) results.set(v, await measure(v))
      for (const v of variants) {
        const r = results.get(v)!
        sums.get(v)!.rps += r.rps
        sums.get(v)!.cpu += r.node + r.pg
        line.push(`${v} ${r.rps.toFixed(0)} req/s (p99 ${r.p99} ms; CPU ${r.node.toFixed(2)} Node + ${r.pg.toFixed(2)} PostgreSQL ms a request)`)
      }
      const off = results.get('off')!
      const on = results.get('on')!
      console.log(`round ${round}: ${line.join('; ')}; ratio ${(on.rps / off.rps).toFixed(2)}, CPU ratio ${((off.node + off.pg) / (on.node + on.pg)).toFixed(2)}`)
    }
    const all = (v: Variant) => sums.get(v)!
    const cpuRatios = variants.filter((v) => v !== 'off').map((v) => `${v} ${(all('off').cpu / all(v).cpu).toFixed(2)}`).join(', ')
    console.log(`all rounds: ratio ${(all('on').rps / all('off').rps).toFixed(2)}; CPU a request, off ÷ variant: ${cpuRatios} (${await traceCount(bench)} traces written; load average ${loadavg()[0]!.toFixed(1)})`)
  } finally {
    await untraced.app.close()
    await traced.app.close()
    await bench.drop()
  }
}

/**
 * The trace's write through the audit writer, without HTTP or digesting: PostgreSQL's share. The
 * index's pending list is merged as the audit log's background work does it (a check every second),
 * or, with BENCH_MERGE=0, only by the inserts that fill it beyond gin_pending_list_limit.
 */
async function partC () {
  const bench = await benchDatabase()
  const database = new URL(bench.url).pathname.slice(1)
  const storage = process.env.BENCH_INDEX // e.g. `fastupdate = off`, `gin_pending_list_limit = 4096`
  if (storage) await sql`alter index audit_person_reads_prefixes set (${sql.raw(storage)})`.execute(bench.database.db)
  const writer = createAuditWriter({ db: bench.database.db, hash: 'sha256', signingKey: null, checkpointEvents: 1e9, checkpointSeconds: 1e9, pipeline: 4 })
  const repo = createPersonAccessRepository(bench.database.db)
  const background = process.env.BENCH_MERGE !== '0'
  const writes = Number(process.env.BENCH_WRITES ?? 20_000)
  const people = Array.from({ length: 200_000 }, () => randomBytes(32))
  const event = { action: 'query' as const, operation: 'data.records.read', actor: { sub: 'bench', unit: 'MATH', roles: ['consumer'] }, dataset: 'people', rows: 100 }
  const run = async (persons: number) => {
    const merge = createTraceMerge(async () => await repo.mergePending())
    let merging: Promise<unknown> = Promise.resolve()
    let stopped = 0 // merges the statement timeout stopped (what they merged stays merged)
    const timer = setInterval(() => {
      if (background) merging = merging.then(async () => await merge.mergeIfDue()).catch(() => { stopped++ })
    }, 1000)
    let left = writes
    const before = cpuNow(database)
    const t0 = performance.now()
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (left-- > 0) {
        const from = Math.floor(Math.random() * people.length)
        merge.traced(persons)
        await writer.append({ ...event, persons: Array.from({ length: persons }, (_, i) => people[(from + i * 7) % people.length]!) })
      }
    }))
    const ms = (performance.now() - t0) / writes
    clearInterval(timer)
    await merging
    const pg = (cpuNow(database).pg - before.pg) / writes
    const rest = cpuNow(database)
    await repo.mergePending() // what is still pending: the next merge's, counted apart
    return { ms, pg, rest: (cpuNow(database).pg - rest.pg) / writes, stopped }
  }
  try {
    console.log(`audit writer; ${writes} events a run, 50 appenders, 100 persons an event (of 200,000); ${background ? 'merged in the background' : 'merged by the inserts'}` +
      `${storage ? `; index with ${storage}` : ''}; load average ${loadavg()[0]!.toFixed(1)}`)
    for (let round = 1; round <= rounds; round++) {
      const none = await run(0)
      const traced = await run(100)
      console.log(`round ${round}: no persons ${(none.ms * 1000).toFixed(0)} µs an event (PostgreSQL CPU ${(none.pg * 1000).toFixed(0)} µs); ` +
        `100 persons ${(traced.ms * 1000).toFixed(0)} µs (CPU ${(traced.pg * 1000).toFixed(0)} µs with the merges meanwhile, and ${(traced.rest * 1000).toFixed(0)} µs to merge what was left` +
        `${traced.stopped > 0 ? `; ${traced.stopped} merges stopped by the statement timeout` : ''})`)
    }
    console.log(`${await traceCount(bench)} traces written; load average ${loadavg()[0]!.toFixed(1)}`)
  } finally {
    await writer.idle()
    await bench.drop()
  }
}

if (part.includes('c')) await partC()
if (part.includes('b')) await partB()
if (part.includes('a')) await partA()
