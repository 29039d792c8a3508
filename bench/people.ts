// What the data-path benchmarks share: a throw-away PostgreSQL database with the schema, a 12-field
// `people` dataset of unit CS with 6 personal-information fields masked by the display profile, a
// number of generated records, one active grant of every field to unit MATH, and the platform
// started over it with a consumer's token.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { bareRecordsRoute } from './bare-route.js'
import { createDatasetRepository } from '../src/catalog/datasets/repository.js'
import { loadMasterKeys } from '../src/platform/masters.js'
import { createEncryption } from '../src/catalog/encryption/plugin.js'
import { sweepEncryption } from '../src/catalog/encryption/sweep.js'
import { loadConfig, type Config } from '../src/config.js'
import type { AccessMode } from '../src/authorization/index.js'
import type { Grant, StoredField } from '../src/db/database.js'
import { createDatabase, type DatabaseHandle } from '../src/db/create-db.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { loadMaskingKey, type MaskingKey } from '../src/masking/keys.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'

const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

async function withAdmin (text: string) {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try { await client.query(text) } finally { await client.end() }
}

export interface BenchDatabase {
  config: Config
  database: DatabaseHandle
  /** the connection string of the throw-away database */
  url: string
  /** drops the database and the data dir */
  drop (): Promise<void>
}

/** A new, migrated PostgreSQL database and a data dir of its own; `env` adds to the configuration. */
export async function benchDatabase (env: Record<string, string> = {}): Promise<BenchDatabase> {
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
    BLACKLIST_AUTO_MINUTES: '0',
    ...env
  })
  const database = await createDatabase(config, { warn () {}, error () {} })
  await migrateToLatest(database.db)
  return {
    config,
    database,
    url: url.toString(),
    async drop () {
      await database.close()
      await withAdmin(`drop database ${dbName} with (force)`)
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

export const field = (name: string, type: StoredField['type'], extra: Partial<StoredField> = {}): StoredField => ({
  name, type, required: false, piType: null, sensitivity: 1, description: null, format: null, enum: null, pattern: null, maxLength: null, minimum: null, maximum: null, masking: null, ...extra
})

/** 12 fields, 6 of them personal information masked by the display profile */
export const PEOPLE_FIELDS: StoredField[] = [
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

type NewDatasetRow = Parameters<ReturnType<typeof createDatasetRepository>['insert']>[0]

/** Producer and consumer units, with a placeholder officer. */
export async function insertUnits (bench: BenchDatabase, codes: readonly string[]): Promise<void> {
  for (const code of codes) {
    await bench.database.db.insertInto('units').values({ code, name: `Unit ${code}`, officer_name: 'Officer', officer_contact: 'officer@example.edu.cn' }).execute()
  }
}

/** A published `ordinary` dataset of unit CS keyed by student_id, as the catalog stores it; `overrides` change it. */
export async function insertBenchDataset (bench: BenchDatabase, overrides: Partial<NewDatasetRow> & Pick<NewDatasetRow, 'code' | 'fields'>): Promise<void> {
  await createDatasetRepository(bench.database.db).insert({
    name: overrides.code,
    description: null,
    producer_unit: 'CS',
    subject: overrides.code,
    category: 'student',
    grade: 'ordinary',
    national_grade: 'general',
    share_attribute: 'conditional',
    open_attribute: 'none',
    personnel_basic: false,
    update_frequency: 'daily',
    retention_days: 3650,
    holds_pi: false,
    sensitive_pi: false,
    children_pi: false,
    primary_key: ['student_id'],
    person_key: null,
    sources: [],
    metadata_restricted: false,
    status: 'published',
    created_by: 'bench',
    published_at: new Date(),
    grading_status: 'confirmed',
    grading_decided_by: 'bench',
    grading_decided_at: new Date(),
    ...overrides
  })
}

/**
 * An active grant on `dataset` to unit MATH, with the approved share request it comes from: every
 * one of `fields`, no row filter, a quota that never binds; masked unless `masked` is false.
 */
export async function insertBenchGrant (bench: BenchDatabase, { dataset, fields, accessModes, masked = true }: { dataset: string, fields: string[], accessModes: AccessMode[], masked?: boolean }): Promise<Grant> {
  const db = bench.database.db
  const terms = {
    dataset_code: dataset,
    producer_unit: 'CS',
    consumer_unit: 'MATH',
    subject: null,
    fields,
    row_filter: '{}',
    purpose: 'benchmark',
    access_modes: accessModes,
    valid_from: '2020-01-01',
    valid_until: '2099-12-31',
    daily_row_quota: 2_000_000_000,
    third_party: false
  }
  const request = await db.insertInto('share_requests').values({
    ...terms,
    requested_by: 'bench',
    requested_client: null,
    legal_basis: 'statutory duties',
    third_party_name: null,
    workflow: 'office',
    needs_agreement: false,
    status: 'active',
    decision_reason: null,
    review_due_at: null,
    overdue_reported_at: null,
    unmasked_reason: masked ? null : 'benchmark',
    collective_decision: null,
    external_approval: null,
    person_count: null
  }).returningAll().executeTakeFirstOrThrow()
  return await db.insertInto('grants').values({
    ...terms,
    share_request_id: request.id,
    masked,
    children_pi: false,
    consent_ids: [],
    status: 'active',
    status_reason: null,
    status_changed_by: null,
    status_changed_at: null
  }).returningAll().executeTakeFirstOrThrow()
}

/**
 * Units CS and MATH, the `people` dataset of CS with `rows` generated records (keys 0000000001…),
 * and an active, masked grant of every field to MATH with `accessModes`; returns the grant.
 */
export async function seedPeople (bench: BenchDatabase, rows: number, accessModes: AccessMode[], say: (line: string) => void = console.log): Promise<Grant> {
  const db = bench.database.db
  await insertUnits(bench, ['CS', 'MATH'])
  await insertBenchDataset(bench, {
    code: 'people',
    name: 'People',
    subject: 'people',
    personnel_basic: true,
    holds_pi: true,
    person_key: 'student_id',
    fields: PEOPLE_FIELDS
  })
  const batch = randomUUID()
  await db.insertInto('ingest_batches').values({ id: batch, dataset_code: 'people', unit: 'CS', sub: 'bench', client: null, format: 'json', received: rows, accepted: rows, rejected: 0, errors: '{}' }).execute()
  say(`loading ${rows} records…`)
  for (let start = 1; start <= rows; start += 200_000) {
    const end = Math.min(rows, start + 199_999)
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
  // sealed as ingest stores them (every PI field but the key, with blind indexes and kept masked
  // forms): by the sweep that seals records of the release before, before the platform starts
  say('sealing…')
  const enc = createEncryption(db, { masters: loadMasterKeys(bench.config, { generate: true }), suite: bench.config.DATAGATE_CIPHER })
  await enc.keyring.verify()
  await sweepEncryption(db, enc)
  await sql`vacuum analyze records`.execute(db)
  return await insertBenchGrant(bench, { dataset: 'people', fields: PEOPLE_FIELDS.map((f) => f.name), accessModes })
}

/** The whole platform over the bench database, listening on a free port, and a MATH consumer's token. */
export async function startPlatform (bench: BenchDatabase): Promise<{ app: FastifyInstance, port: number, token: string, maskingKey: MaskingKey }> {
  const key = loadSigningKey(bench.config, { generate: true })!
  const maskingKey = loadMaskingKey(bench.config, { generate: true })
  const app = await buildApp({ config: bench.config, database: bench.database, mode: 'all', keys: { signing: key, verification: key }, logger: false, closeDatabase: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const token = createTokenIssuer(key, { issuer: bench.config.JWT_ISSUER, audience: bench.config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
    .sign({ sub: 'bench-reader', unit: 'MATH', roles: ['consumer'] }, 3600)
  return { app, port: (app.server.address() as { port: number }).port, token, maskingKey }
}

/**
 * The baseline of the read benchmarks: a bare Fastify route, `GET /records?after=<record key>`,
 * running the same keyset SELECT of `dataset` through `pg` and returning the rows as stored
 * (unmasked, unaudited, unauthenticated). Listening on a free port; `close` ends it and its pool.
 */
export async function startBareRoute (bench: BenchDatabase, dataset: string, pageSize: number): Promise<{ server: FastifyInstance, port: number, close: () => Promise<void> }> {
  const pool = new pg.Pool({ connectionString: bench.url, max: 10 })
  const server = Fastify()
  bareRecordsRoute(server, pool, dataset, pageSize)
  await server.listen({ port: 0, host: '127.0.0.1' })
  return {
    server,
    port: (server.server.address() as { port: number }).port,
    close: async () => { await server.close(); await pool.end() }
  }
}

/** Memory of a process from /proc (Linux): resident now and its high-water mark, in bytes. */
export function memoryOf (pid: number): { rss: number, hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
}

/**
 * What `npm start` runs (package.json's `start` script, `node <flags> <entry> <args>`): its V8 flags,
 * and its entry and arguments, for spawnPlatform.
 */
export function npmStartCommand (): { nodeArgs: string[], entry: string, args: string[] } {
  const script = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start
  const words = script.split(/\s+/)
  if (words[0] !== 'node') throw new Error(`npm start runs ${words[0]}, not node`)
  const at = words.findIndex((w, i) => i > 0 && !w.startsWith('-'))
  return { nodeArgs: words.slice(1, at), entry: join(import.meta.dirname, '..', words[at]!), args: words.slice(at + 1) }
}

/** A TCP port free on the loopback now (for a child process to listen on). */
export async function freePort (): Promise<number> {
  return await new Promise<number>((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) }) })
}

export interface PlatformProcess {
  process: ChildProcess
  pid: number
  /** http://127.0.0.1:port */
  url: string
  /** `dist/ (compiled)` or `sources (tsx)` */
  entry: string
  /** SIGTERM, and its exit */
  stop (): Promise<void>
}

/**
 * The platform in a process of its own over the bench database and data dir (its keys), so that its
 * memory is its own: the compiled build (`npm run build`) when there is one, as deployed, else the
 * sources through tsx (more memory). `nodeArgs` are V8 flags for it (BENCH_PLATFORM_NODE_ARGS).
 */
export async function spawnPlatform (bench: BenchDatabase, env: Record<string, string> = {}, nodeArgs: string[] = [], command: { entry: string, args: string[] } | null = null): Promise<PlatformProcess> {
  const port = await freePort()
  const built = join(import.meta.dirname, '..', 'dist', 'main.js')
  const entry = command?.entry ?? (existsSync(built) ? built : join(import.meta.dirname, '..', 'bin', 'datagate.js'))
  const child = spawn(process.execPath, [...nodeArgs, entry, ...(command?.args ?? ['serve', 'all'])], {
    env: { ...process.env, DATAGATE_DATA_DIR: bench.config.dataDir, DATABASE_URL: bench.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '100000000', ...env },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (i > 600 || child.exitCode !== null) throw new Error('the platform did not start')
    if (await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    process: child,
    pid: child.pid!,
    url,
    entry: command ? `${[...nodeArgs, entry.slice(join(import.meta.dirname, '..').length + 1), ...command.args].join(' ')}` : entry === built ? 'dist/ (compiled)' : 'sources (tsx)',
    async stop () {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
}
