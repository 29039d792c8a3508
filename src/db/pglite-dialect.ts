import type { PGlite } from '@electric-sql/pglite'
import {
  CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult, type TransactionSettings
} from 'kysely'

/**
 * Kysely dialect for embedded PGlite. PGlite is one connection, so the driver hands it out to one
 * holder at a time: a transaction owns it until commit or rollback and other queries wait their turn.
 * (The community dialect pins PGlite below 0.5, hence this small one.)
 */
export class PGliteDialect implements Dialect {
  constructor (private readonly pglite: PGlite) {}
  createAdapter () { return new PostgresAdapter() }
  createDriver (): Driver { return new PGliteDriver(this.pglite) }
  createIntrospector (db: Kysely<any>) { return new PostgresIntrospector(db) }
  createQueryCompiler () { return new PostgresQueryCompiler() }
}

class PGliteDriver implements Driver {
  readonly #connection: PGliteConnection
  #queue: Promise<void> = Promise.resolve()
  readonly #releases = new WeakMap<DatabaseConnection, () => void>()

  constructor (pglite: PGlite) {
    this.#connection = new PGliteConnection(pglite)
  }

  async init () {}

  async acquireConnection (): Promise<DatabaseConnection> {
    let release!: () => void
    const turn = new Promise<void>((resolve) => { release = resolve })
    const previous = this.#queue
    this.#queue = previous.then(() => turn)
    await previous
    // one object per holder, so a stale release cannot free someone else's turn
    const handle = Object.create(this.#connection) as PGliteConnection
    this.#releases.set(handle, release)
    return handle
  }

  async beginTransaction (connection: DatabaseConnection, settings: TransactionSettings) {
    const mode = [settings.isolationLevel && `isolation level ${settings.isolationLevel}`, settings.accessMode]
      .filter(Boolean).join(' ')
    await connection.executeQuery(CompiledQuery.raw(mode ? `start transaction ${mode}` : 'begin'))
  }

  async commitTransaction (connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('commit'))
  }

  async rollbackTransaction (connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('rollback'))
  }

  async releaseConnection (connection: DatabaseConnection) {
    const release = this.#releases.get(connection)
    this.#releases.delete(connection)
    release?.()
  }

  async destroy () {
    await this.#queue
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor (private readonly pglite: PGlite) {}

  async executeQuery<R> (query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(query.sql, query.parameters as unknown[])
    const command = (result as { command?: string }).command
    const affects = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
    return {
      rows: result.rows,
      ...(affects ? { numAffectedRows: BigInt(result.affectedRows ?? 0) } : {})
    }
  }

  async * streamQuery<R> (query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // PGlite has no cursors over its wire: one batch is the honest answer
    yield await this.executeQuery<R>(query)
  }
}
