import { createHash, randomBytes } from 'node:crypto'
import { accessSync, appendFileSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createPGlite, type DatabaseHandle } from '../../src/db/create-db.js'
import { migrateToLatest, migrationsDir } from '../../src/db/migrator.js'
import { repoRoot } from './spawn.js'

/** Set to run the suite on PostgreSQL too (CI does): a server URL whose user may CREATE DATABASE. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined

/** Templates are keyed by the migrations' content, so a changed migration never reuses a stale one. */
function schemaHash (): string {
  const hash = createHash('sha256')
  for (const file of readdirSync(migrationsDir).sort()) hash.update(file).update(readFileSync(join(migrationsDir, file)))
  hash.update(TEST_SETTINGS)
  return hash.digest('hex').slice(0, 12)
}

const cacheDir = join(repoRoot, 'node_modules/.cache/datagate-test')

/**
 * Settings of the test databases only: a test's database is thrown away, so it need not survive a
 * crash, and PostgreSQL-in-WASM zeroes all of its shared buffers at every start (128 MB by
 * default: two thirds of the cost of opening a test database).
 */
const TEST_SETTINGS = '\n# datagate tests\nshared_buffers = 16MB\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n'

/**
 * A migrated PGlite data dir, made once (initdb in WASM costs seconds) and copied for every test
 * database (a copy opens in a fraction of a second).
 */
export async function pgliteTemplate (): Promise<string> {
  const dir = join(cacheDir, `pglite-${schemaHash()}`)
  if (existsSync(dir)) return dir
  mkdirSync(cacheDir, { recursive: true })
  const building = mkdtempSync(join(cacheDir, 'building-'))
  const handle = await createPGlite(building)
  await migrateToLatest(handle.db)
  await handle.close()
  appendFileSync(join(building, 'pglite', 'postgresql.conf'), TEST_SETTINGS)
  try {
    renameSync(building, dir) // atomic: a concurrent builder either wins or finds ours
  } catch {
    rmSync(building, { recursive: true, force: true })
  }
  return dir
}

function adminUrl (database = 'postgres'): string {
  const url = new URL(TEST_DATABASE_URL!)
  url.pathname = `/${database}`
  return url.toString()
}

async function withAdmin<T> (fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() })
  client.on('error', () => {})
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** A migrated PostgreSQL template database, made once per schema. */
export async function postgresTemplate (): Promise<string> {
  const name = `datagate_tpl_${schemaHash()}`
  const exists = await withAdmin(async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1)
  if (exists) return name
  const building = `${name}_b${randomBytes(3).toString('hex')}`
  await withAdmin((c) => c.query(`create database ${building}`))
  const { createDatabase } = await import('../../src/db/create-db.js')
  const handle = await createDatabase({ DATABASE_URL: adminUrl(building), DATABASE_POOL_MAX: 2, DATABASE_SSL: 'off', STATEMENT_TIMEOUT_MS: 30000, dataDir: tmpdir() }, console)
  await migrateToLatest(handle.db)
  await handle.close()
  await withAdmin(async (c) => {
    try {
      await c.query(`alter database ${building} rename to ${name}`)
    } catch {
      await c.query(`drop database if exists ${building}`) // another run made it first
    }
  })
  return name
}

export interface TestDatabase {
  /** set for PostgreSQL: the URL of this test's own database */
  url?: string
  /** the data dir of this test (PGlite files, keys) */
  dataDir: string
  open (): Promise<DatabaseHandle>
  /** removes the database and its files */
  destroy (): Promise<void>
}

/**
 * Where test data dirs go: memory (tmpfs) where the machine has it. Every test copies a 41 MB PGlite
 * dir and PostgreSQL-in-WASM writes and syncs it; on a journaling disk that was a quarter of the
 * suite's CPU time (kernel time). `DATAGATE_TEST_TMPDIR` chooses another place.
 */
const testTmp = (() => {
  const asked = process.env.DATAGATE_TEST_TMPDIR
  if (asked) return asked
  try {
    accessSync('/dev/shm', constants.W_OK)
    return '/dev/shm'
  } catch {
    return tmpdir()
  }
})()

/** A fresh, migrated database for one test: a new PostgreSQL database, or a copied PGlite dir. */
export async function freshDatabase (): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(testTmp, 'datagate-test-'))
  if (TEST_DATABASE_URL) {
    const template = await postgresTemplate()
    const name = `datagate_t_${randomBytes(6).toString('hex')}`
    await withAdmin((c) => c.query(`create database ${name} template ${template}`))
    const url = adminUrl(name)
    return {
      url,
      dataDir,
      async open () {
        const { createDatabase } = await import('../../src/db/create-db.js')
        return await createDatabase({ DATABASE_URL: url, DATABASE_POOL_MAX: 5, DATABASE_SSL: 'off', STATEMENT_TIMEOUT_MS: 5000, dataDir }, silent)
      },
      async destroy () {
        await withAdmin((c) => c.query(`drop database if exists ${name} with (force)`))
        rmSync(dataDir, { recursive: true, force: true })
      }
    }
  }
  cpSync(await pgliteTemplate(), dataDir, { recursive: true })
  return {
    dataDir,
    open: async () => await createPGlite(dataDir),
    async destroy () { rmSync(dataDir, { recursive: true, force: true }) }
  }
}

export const silent = { warn () {}, error () {} }

/** Runs SQL as the server's superuser, behind the application's back (PostgreSQL only). */
export async function adminQuery (url: string, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}
