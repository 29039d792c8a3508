import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { link, rename, stat, unlink } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { sql, type Kysely } from 'kysely'
import type { Cipher, MasterKey } from '../../platform/master-key.js'
import { BackupError, FrameWriter, newHeader } from './format.js'
import { appliedMigrations, describeTables, listSequences, useCanonicalText, type TableInfo } from './schema.js'

export interface BackupOptions {
  db: Kysely<any>
  database: 'postgres' | 'pglite'
  /** the file to write; never overwritten */
  out: string
  masterKey: MasterKey
  algorithm: Cipher
}

export interface BackupSummary {
  file: string
  bytes: number
  algorithm: Cipher
  /** the last migration of the schema backed up */
  schema: string
  createdAt: string
  tables: Record<string, number>
  rows: number
  sequences: number
}

/** rows fetched per round trip: memory stays at a batch of rows, whatever the table's size */
const FETCH_ROWS = 200
/** the largest row a backup takes (its JSON line), so that a restore reads bounded lines */
export const MAX_ROW_CHARS = 64 * 1024 * 1024

/**
 * Writes an encrypted, integrity-checked logical backup of every table of the schema, read in one
 * REPEATABLE READ snapshot (consistent as of one instant, writers undisturbed on PostgreSQL) and
 * streamed: cursor batches → NDJSON → gzip → sealed frames → a private temporary file, which takes
 * the name `out` only once complete. Refuses to overwrite a file.
 *
 * The dump, inside the frames: per table `{"t":"table","name","columns"}`, one JSON array per row
 * (every value in PostgreSQL's own text form, null for NULL), `{"t":"end","name","rows"}`; then
 * `{"t":"sequence","name","value","called"}` per sequence and `{"t":"done"}`.
 */
export async function createBackup (options: BackupOptions): Promise<BackupSummary> {
  const { db, out, masterKey } = options
  if (await exists(out)) throw new BackupError('BACKUP_EXISTS', `${out} exists: a backup never overwrites a file`)
  const createdAt = new Date().toISOString()
  const tmp = `${out}.${randomBytes(6).toString('hex')}.partial`
  try {
    const summary = await db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
      await useCanonicalText(trx)
      const migrations = await appliedMigrations(trx)
      if (!migrations || migrations.length === 0) throw new BackupError('BACKUP_NO_SCHEMA', 'the database has no Datagate schema: nothing to back up')
      await checkDeploymentKey(trx, masterKey)
      const tables = await describeTables(trx)
      const sequences = await listSequences(trx)
      const counts: Record<string, number> = {}
      const header = newHeader(masterKey, { algorithm: options.algorithm, createdAt, database: options.database, migrations })
      await pipeline(
        Readable.from(dumpLines(trx, tables, sequences, counts)),
        createGzip(),
        new FrameWriter(masterKey, header, () => ({ tables: counts, sequences: sequences.length })),
        createWriteStream(tmp, { flags: 'wx', mode: 0o600, flush: true })
      )
      return { tables: counts, sequences: sequences.length, schema: migrations[migrations.length - 1]! }
    })
    await publish(tmp, out)
    const rows = Object.values(summary.tables).reduce((a, b) => a + b, 0)
    return { file: out, bytes: (await stat(out)).size, algorithm: options.algorithm, createdAt, rows, ...summary }
  } finally {
    await unlink(tmp).catch(() => {})
  }
}

async function * dumpLines (trx: Kysely<any>, tables: TableInfo[], sequences: string[], counts: Record<string, number>): AsyncGenerator<string> {
  for (const [t, table] of tables.entries()) {
    yield `${JSON.stringify({ t: 'table', name: table.name, columns: table.columns.map((c) => c.name) })}\n`
    const cursor = `datagate_backup_${t}`
    // each value as text, aliased c0…cn so that the row object keeps the columns' order
    const values = sql.join(table.columns.map((c, i) => sql`${sql.id(c.name)}::text as ${sql.id(`c${i}`)}`))
    const order = table.primaryKey.length > 0 ? sql`order by ${sql.join(table.primaryKey.map((c) => sql.id(c)))}` : sql``
    await sql`declare ${sql.id(cursor)} no scroll cursor for select ${values} from ${sql.id(table.name)} ${order}`.execute(trx)
    let rows = 0
    for (;;) {
      const batch = await sql<Record<string, string | null>>`fetch forward ${sql.lit(FETCH_ROWS)} from ${sql.id(cursor)}`.execute(trx)
      if (batch.rows.length === 0) break
      let text = ''
      for (const row of batch.rows) {
        const line = JSON.stringify(table.columns.map((_, i) => row[`c${i}`] ?? null))
        if (line.length > MAX_ROW_CHARS) throw new BackupError('BACKUP_TOO_LARGE', `a row of ${table.name} is larger than ${MAX_ROW_CHARS} characters`)
        text += `${line}\n`
      }
      rows += batch.rows.length
      yield text
    }
    await sql`close ${sql.id(cursor)}`.execute(trx)
    counts[table.name] = rows
    yield `${JSON.stringify({ t: 'end', name: table.name, rows })}\n`
  }
  for (const name of sequences) {
    const { rows } = await sql<{ value: string, called: boolean }>`select last_value::text as value, is_called as called from ${sql.id(name)}`.execute(trx)
    yield `${JSON.stringify({ t: 'sequence', name, value: rows[0]!.value, called: rows[0]!.called })}\n`
  }
  yield `${JSON.stringify({ t: 'done' })}\n`
}

/**
 * The backup is under the deployment's master key, the one that wraps the data keys of encrypted
 * fields: one key then restores both. A key the database has never known is refused.
 */
async function checkDeploymentKey (trx: Kysely<any>, master: MasterKey): Promise<void> {
  const { rows } = await sql<{ exists: boolean }>`select to_regclass('master_keys') is not null as exists`.execute(trx)
  if (!rows[0]?.exists) return
  const known = (await sql<{ fingerprint: string }>`select fingerprint from master_keys order by created_at`.execute(trx)).rows.map((r) => r.fingerprint)
  if (known.length > 0 && !known.includes(master.fingerprint)) {
    throw new BackupError('BACKUP_WRONG_MASTER_KEY', `${master.source} (fingerprint ${master.fingerprint}) is not this deployment's master key ` +
      `(the database knows ${known.join(', ')}): back up under the master key that wraps its data keys`)
  }
}

/** Gives the complete file its name, unless something took the name meanwhile. */
async function publish (tmp: string, out: string): Promise<void> {
  try {
    await link(tmp, out)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new BackupError('BACKUP_EXISTS', `${out} exists: a backup never overwrites a file`)
    if (await exists(out)) throw new BackupError('BACKUP_EXISTS', `${out} exists: a backup never overwrites a file`)
    await rename(tmp, out) // a file system without hard links
  }
}

async function exists (file: string): Promise<boolean> {
  try {
    await stat(file)
    return true
  } catch {
    return false
  }
}
