import { sql, type Kysely } from 'kysely'
import { createMigrator } from '../../db/migrator.js'
import type { MasterKey } from '../../platform/master-key.js'
import { BackupError, openBackup, type BackupHeader, type BackupTrailer } from './format.js'
import { loadDump } from './load.js'
import { SEEDED_TABLES, appliedMigrations, describeTables, knownMigrations, listSequences, occupiedTables, useCanonicalText } from './schema.js'

export interface BackupInfo {
  file: string
  header: BackupHeader
  trailer: BackupTrailer
  /** the last migration of the schema backed up */
  schema: string
  rows: number
  /** this version of Datagate knows the backup's schema (its migrations are a prefix of ours) */
  restorable: boolean
}

export interface RestoreSummary extends BackupInfo {
  /** migrations run on the empty database to bring it to the backup's schema */
  migrated: string[]
  tables: Record<string, number>
}

export interface RestoreOptions {
  file: string
  masterKey: MasterKey
  /** opens the target database: called only once the whole file has been checked */
  openDatabase: () => Promise<Kysely<any>>
}

const isPrefix = (prefix: readonly string[], of: readonly string[]) =>
  prefix.length <= of.length && prefix.every((name, i) => of[i] === name)

/**
 * Reads the whole backup under the master key without writing anything: the header, every frame's
 * integrity and place, the final frame and its digest. Refuses a wrong key, a changed, reordered or
 * truncated file.
 */
export async function inspectBackup (file: string, masterKey: MasterKey): Promise<BackupInfo> {
  const backup = await openBackup(file, masterKey)
  try {
    const frames = backup.frames()
    let next = await frames.next()
    while (!next.done) next = await frames.next()
    const trailer = next.value
    const { migrations } = backup.header
    return {
      file,
      header: backup.header,
      trailer,
      schema: migrations[migrations.length - 1]!,
      rows: Object.values(trailer.tables).reduce((a, b) => a + b, 0),
      restorable: isPrefix(migrations, knownMigrations())
    }
  } finally {
    await backup.close()
  }
}

/**
 * Restores a backup into an empty database, all or nothing: the file is checked whole first (nothing
 * is opened before), the database must hold no rows but those its migrations put there, it is
 * migrated to exactly the backup's schema, and the rows, sequences and audit partitions are loaded
 * in one transaction whose row counts must match the backup's before it commits.
 */
export async function restoreBackup (options: RestoreOptions): Promise<RestoreSummary> {
  const info = await inspectBackup(options.file, options.masterKey)
  const wanted = info.header.migrations
  if (!info.restorable) {
    const known = knownMigrations()
    throw new BackupError('BACKUP_SCHEMA_MISMATCH', `${options.file} holds schema ${info.schema}, which this version of Datagate does not know ` +
      `(its latest is ${known[known.length - 1] ?? 'none'}): restore with the version that made the backup, or a later one; nothing was restored`)
  }
  const db = await options.openDatabase()
  const applied = await appliedMigrations(db) ?? []
  if (!isPrefix(applied, wanted)) {
    throw new BackupError('BACKUP_SCHEMA_MISMATCH', `the database is at schema ${applied[applied.length - 1]}, beyond the backup's ${info.schema}: ` +
      'restore into a new, empty database; nothing was restored')
  }
  if (applied.length > 0) await refuseOccupied(db)
  const migrated = await migrateTo(db, wanted, applied.length)

  const tables = await db.transaction().execute(async (trx) => {
    await useCanonicalText(trx)
    await refuseOccupied(trx) // nobody wrote meanwhile
    const target = await describeTables(trx)
    for (const t of target) if (SEEDED_TABLES.has(t.name)) await sql`delete from ${sql.id(t.name)}`.execute(trx)
    const backup = await openBackup(options.file, options.masterKey)
    let loaded: Record<string, number>
    try {
      loaded = await loadDump(trx, backup, target, await listSequences(trx))
    } finally {
      await backup.close()
    }
    await sortAuditPartitions(trx)
    for (const t of target) {
      const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.id(t.name)}`.execute(trx)
      if (Number(rows[0]!.n) !== info.trailer.tables[t.name] || loaded[t.name] !== info.trailer.tables[t.name]) {
        throw new BackupError('BACKUP_DAMAGED', `${options.file}: table ${t.name} holds ${rows[0]!.n} rows after the restore, the backup ${info.trailer.tables[t.name]}; nothing was restored`)
      }
    }
    return loaded
  })
  return { ...info, migrated, tables }
}

async function refuseOccupied (db: Kysely<any>): Promise<void> {
  const occupied = await occupiedTables(db, await describeTables(db))
  if (occupied.length > 0) {
    throw new BackupError('BACKUP_NOT_EMPTY', `the database is not empty (${occupied.slice(0, 5).join(', ')}${occupied.length > 5 ? ', …' : ''} hold rows): ` +
      'a backup is restored into a new, empty database only; nothing was restored')
  }
}

async function migrateTo (db: Kysely<any>, wanted: string[], applied: number): Promise<string[]> {
  if (applied >= wanted.length) return []
  const { error, results } = await createMigrator(db).migrateTo(wanted[wanted.length - 1]!)
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
    throw new Error(`migrating the empty database to the backup's schema failed at ${failed}: ${error instanceof Error ? error.message : String(error)}`)
  }
  return (results ?? []).map((r) => r.migrationName)
}

/**
 * Audit events of months without a partition land in the DEFAULT one; the audit log's own upkeep
 * (migrations/0005_create_audit.ts) gives them their months, as it does at run time.
 */
async function sortAuditPartitions (trx: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ exists: boolean }>`select to_regprocedure('audit_ensure_partitions(integer)') is not null as exists`.execute(trx)
  if (rows[0]?.exists) await sql`select audit_ensure_partitions(1)`.execute(trx)
}
