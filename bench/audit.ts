// Audit append throughput: 50 concurrent writers appending through the group-commit writer (hash
// chain, one transaction per batch, synchronous commit, domain-event relay, checkpoints) against
// the same 50 writers doing plain single-row INSERTs of the same events through `pg` (autocommit,
// synchronous commit, no chain) into a table of the same shape, on the same server in the same run.
// Then verification speed over the whole chain.
//
//   npx tsx bench/audit.ts          # BENCH_DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/postgres
//   BENCH_SECONDS=5 BENCH_ROUNDS=3 BENCH_WRITERS=50 BENCH_POOL=10 BENCH_PIPELINE=4 npx tsx bench/audit.ts
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { AuditEventInput } from '../src/audit/events.js'
import { createAuditRepository } from '../src/audit/repository.js'
import { verifyChain } from '../src/audit/verify.js'
import { createAuditWriter } from '../src/audit/writer.js'
import { loadConfig } from '../src/config.js'
import { createDatabase } from '../src/db/create-db.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'

const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const writers = Number(process.env.BENCH_WRITERS ?? 50)
const poolSize = Number(process.env.BENCH_POOL ?? 10)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)

async function admin (text: string) {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try { await client.query(text) } finally { await client.end() }
}

/** A data read as the gateway will record it: about 400 bytes stored. */
const event = (n: number): AuditEventInput => ({
  service: 'gateway',
  action: 'query',
  operation: 'records.read',
  actor: { sub: `user-${n % 500}`, unit: 'CS', roles: ['consumer'], client: n % 3 ? 'dgc_ab12' : null, ip: '10.1.2.3' },
  objectType: 'dataset',
  objectId: 'student_basic',
  dataset: 'student_basic',
  fields: ['student_id', 'name', 'college'],
  rows: n % 200,
  grantId: '5f0c6c3e-4b8e-4a53-9a8c-3c1b2f0e9d11',
  requestId: `req-${n}`,
  details: { where: { college: 'CS' }, masked: ['name'], page: n % 10 }
})

/** `writers` loops, each appending one event after another, for `seconds`. */
async function run (label: string, append: (n: number) => Promise<unknown>) {
  let n = 0
  const until = Date.now() + seconds * 1000
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: writers }, async () => {
    while (Date.now() < until) await append(n++)
  }))
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9
  const rate = n / elapsed
  console.log(`${label.padEnd(52)} ${String(n).padStart(8)} events  ${rate.toFixed(0).padStart(7)} events/s`)
  return rate
}

const name = `datagate_bench_audit_${randomBytes(4).toString('hex')}`
await admin(`create database ${name}`)
const url = new URL(serverUrl)
url.pathname = `/${name}`
const dataDir = mkdtempSync(join(tmpdir(), 'datagate-bench-'))
const config = loadConfig({ DATABASE_URL: url.toString(), DATAGATE_DATA_DIR: dataDir, DATABASE_POOL_MAX: String(poolSize) })
const handle = await createDatabase(config, console)
const plain = new pg.Pool({ connectionString: url.toString(), max: poolSize })
const plainWide = new pg.Pool({ connectionString: url.toString(), max: writers })
try {
  await migrateToLatest(handle.db)
  await plain.query('create table plain_events (like audit_events including all)') // same columns, keys and indexes; no trigger
  await plain.query('create sequence plain_seq')
  const key = loadSigningKey(config, { generate: true })!
  const writer = createAuditWriter({ db: handle.db, hash: 'sha256', signingKey: key, checkpointEvents: 1000, checkpointSeconds: 60, pipeline: Number(process.env.BENCH_PIPELINE ?? 4) })
  const insert = (pool: pg.Pool) => async (n: number) => {
    const e = event(n)
    await pool.query(`insert into plain_events (seq, occurred_at, recorded_at, service, action, operation, outcome, actor_sub, actor_unit,
        actor_roles, actor_client, actor_ip, object_type, object_id, dataset_code, fields, row_count, grant_id, request_id, details,
        hash_alg, prev_hash, hash)
      values (nextval('plain_seq'), now(), now(), $1, $2, $3, 'success', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
        'none', '', '')`, [e.service, e.action, e.operation, e.actor.sub, e.actor.unit, e.actor.roles, e.actor.client, e.actor.ip,
      e.objectType, e.objectId, e.dataset, e.fields, e.rows, e.grantId, e.requestId, JSON.stringify(e.details)])
  }

  console.log(`${writers} concurrent writers, ${seconds} s a run, ${rounds} rounds alternating, pool ${poolSize}, synchronous_commit on`)
  await run('warm-up (discarded)', async (n) => await writer.append(event(n)))
  const figures = { baseline: [] as number[], wide: [] as number[], datagate: [] as number[] }
  for (let r = 0; r < rounds; r++) {
    figures.baseline.push(await run(`baseline: single-row INSERT through pg (pool ${poolSize})`, insert(plain)))
    figures.wide.push(await run(`baseline: single-row INSERT through pg (pool ${writers})`, insert(plainWide)))
    figures.datagate.push(await run(`Datagate: append, group commit (pool ${poolSize})`, async (n) => await writer.append(event(n))))
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const ratios = figures.datagate.map((d, i) => d / figures.baseline[i]!)
  console.log(`median events/s: baseline ${median(figures.baseline).toFixed(0)}, baseline pool ${writers} ${median(figures.wide).toFixed(0)}, ` +
    `Datagate ${median(figures.datagate).toFixed(0)}`)
  console.log(`ratio Datagate / baseline, per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}; ` +
    `vs pool ${writers}: ${(median(figures.datagate) / median(figures.wide)).toFixed(2)}`)

  const repo = createAuditRepository(handle.db)
  const started = process.hrtime.bigint()
  const verification = await verifyChain(repo, key, {})
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9
  console.log(`verify: ${JSON.stringify({ ok: verification.ok, checked: verification.checked, checkpoints: verification.checkpoints })} ` +
    `in ${elapsed.toFixed(2)} s = ${(verification.checked / elapsed).toFixed(0)} events/s`)
  if (!verification.ok) process.exitCode = 1
} finally {
  await plain.end()
  await plainWide.end()
  await handle.close()
  await admin(`drop database if exists ${name} with (force)`)
  rmSync(dataDir, { recursive: true, force: true })
}
