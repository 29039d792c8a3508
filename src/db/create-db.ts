import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely'
import pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { registerBinaryArrays } from './array-params.js'
import type { Database } from './database.js'
import { isBrokenConnection, markConnectFailure } from './faults.js'
import { PGliteDialect } from './pglite-dialect.js'

export interface DatabaseHandle {
  db: Kysely<Database>
  kind: 'postgres' | 'pglite'
  /** one cheap round trip, for readiness */
  ping (): Promise<void>
  close (): Promise<void>
  /** connection pool figures, for metrics (PostgreSQL only) */
  poolStats?: () => { total: number, idle: number, waiting: number }
}

type DbConfig = Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'DATABASE_SSL' | 'DATABASE_SSL_CA_FILE' | 'STATEMENT_TIMEOUT_MS' | 'dataDir'>

export async function createDatabase (config: DbConfig, log: Pick<Logger, 'warn' | 'error'>): Promise<DatabaseHandle> {
  return config.DATABASE_URL ? createPostgres(config, config.DATABASE_URL, log) : await createPGlite(config.dataDir)
}

/** close() may be reached from several shutdown paths: the first call closes, later ones wait for it. */
function once (close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined
  return () => (closing ??= close())
}

/**
 * A calendar date (validity of grants and requests) is a day, not an instant: both drivers hand it
 * over as its `YYYY-MM-DD` text instead of a Date at local midnight, which shifts with the zone.
 */
const DATE_OID = 1082
const asText = (value: string) => value

export async function createPGlite (dataDir: string | undefined): Promise<DatabaseHandle> {
  let pglite: PGlite
  const options = { parsers: { [DATE_OID]: asText } }
  if (dataDir === undefined) {
    pglite = await PGlite.create(options)
  } else {
    const dir = join(dataDir, 'pglite')
    mkdirSync(dir, { recursive: true })
    pglite = await PGlite.create(dir, options)
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  return {
    db,
    kind: 'pglite',
    ping: async () => { await sql`select 1`.execute(db) },
    close: once(async () => { await db.destroy(); await pglite.close() })
  }
}

function createPostgres (config: DbConfig, connectionString: string, log: Pick<Logger, 'warn' | 'error'>): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: config.DATABASE_POOL_MAX,
    application_name: 'datagate',
    // bounded waits everywhere: a frozen or unreachable database yields errors (503s), never hangs
    connectionTimeoutMillis: Math.min(config.STATEMENT_TIMEOUT_MS, 5000),
    statement_timeout: config.STATEMENT_TIMEOUT_MS,
    query_timeout: config.STATEMENT_TIMEOUT_MS + 1000,
    idle_in_transaction_session_timeout: config.STATEMENT_TIMEOUT_MS * 2,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    ssl: sslOptions(config),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === DATE_OID ? asText : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser
    }
  })
  // An idle client whose backend dies emits 'error' on the pool; a checked-out one on itself.
  // Without these listeners Node would exit on a database restart.
  pool.on('error', (err) => { log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'idle database connection lost') })
  pool.on('connect', (client) => {
    client.on('error', (err) => { log.warn({ err: { message: err.message } }, 'database connection lost') })
  })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guardPool(pool) }) })
  registerBinaryArrays(db)
  return {
    db,
    kind: 'postgres',
    ping: async () => { await sql`select 1`.execute(db) },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: once(async () => { await db.destroy() })
  }
}

/**
 * Statements that start with this comment are prepared on each connection that runs them (a named
 * statement: parsed and planned once per connection, then only bound and executed): the hot
 * statements of the data path, whose text is long and whose plans are the same every time. At most
 * PREPARED_MAX distinct texts are prepared; any further ones run unprepared.
 */
export const PREPARED = '/* prepared */ '
const PREPARED_MAX = 500
const preparedNames = new Map<string, string>()

export function preparedQuery (text: string, values: unknown): string | { name: string, text: string, values: unknown } {
  if (!text.startsWith(PREPARED)) return text
  let name = preparedNames.get(text)
  if (name === undefined) {
    if (preparedNames.size >= PREPARED_MAX) return text
    name = `dg_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`
    preparedNames.set(text, name)
  }
  return { name, text, values }
}

/** Hands Kysely clients whose release discards the connection after a fault instead of pooling it. */
function guardPool (pool: pg.Pool): PostgresPool {
  return {
    async connect (): Promise<PostgresPoolClient> {
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (err) {
        throw markConnectFailure(err)
      }
      let broken: Error | undefined
      const query = async (...args: unknown[]) => {
        try {
          const prepared = typeof args[0] === 'string' ? preparedQuery(args[0], args[1]) : args[0]
          if (typeof prepared === 'object' && prepared !== null && 'name' in prepared) return await client.query(prepared as pg.QueryConfig)
          return await (client.query as (...a: unknown[]) => Promise<unknown>)(...args)
        } catch (err) {
          if (isBrokenConnection(err)) broken = err as Error
          throw err
        }
      }
      return { query, release: () => { client.release(broken ?? false) } } as unknown as PostgresPoolClient
    },
    end: async () => { await pool.end() }
  }
}

function sslOptions (config: DbConfig): pg.PoolConfig['ssl'] {
  switch (config.DATABASE_SSL) {
    case 'require': return { rejectUnauthorized: false }
    case 'verify-full': return config.DATABASE_SSL_CA_FILE
      ? { rejectUnauthorized: true, ca: readFileSync(config.DATABASE_SSL_CA_FILE, 'utf8') }
      : { rejectUnauthorized: true }
    default: return undefined
  }
}
