import { readdirSync } from 'node:fs'
import { sql, type Kysely } from 'kysely'
import { migrationsDir } from '../../db/migrator.js'

/**
 * What a logical backup reads of the database's own catalog: the tables of the current schema (not
 * their partitions), their columns, keys and references, and the sequences. Nothing is listed by
 * hand but the tables the migrations fill themselves.
 */
export interface TableInfo {
  name: string
  columns: { name: string, type: string }[]
  primaryKey: string[]
  /** tables it references, itself aside */
  references: string[]
  /** holds a GENERATED ALWAYS identity column: inserts must override it */
  identityAlways: boolean
}

/** Kysely's own bookkeeping: the schema version travels in the backup header instead. */
const MIGRATION_TABLES = new Set(['kysely_migration', 'kysely_migration_lock'])

/**
 * Tables that migrations fill with rows of their own (the chain head, the grading defaults, the
 * data-path counters). A database is empty when every other table is; a restore replaces these rows
 * with the backup's. test/platform/backup.test.ts checks that a freshly migrated database holds rows
 * in no other table, so a migration that seeds a new one is noticed.
 */
export const SEEDED_TABLES: ReadonlySet<string> = new Set(['audit_chain_head', 'data_path_versions', 'grading_levels'])

type Db = Kysely<any>

/** The tables in an order that inserts can follow: every table after those it references, seeded tables last. */
export async function describeTables (db: Db): Promise<TableInfo[]> {
  const { rows: columns } = await sql<{ table: string, name: string, type: string, identity: string }>`
    select c.relname as table, a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attidentity as identity
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
       and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
     order by c.relname, a.attnum`.execute(db)
  const { rows: constraints } = await sql<{ table: string, kind: string, target: string | null, columns: string[] }>`
    select c.relname as table, con.contype as kind, t.relname as target,
           (select json_agg(a.attname order by k.ord) from unnest(con.conkey) with ordinality k(num, ord)
              join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num) as columns
      from pg_constraint con
      join pg_class c on c.oid = con.conrelid
      join pg_namespace n on n.oid = c.relnamespace
      left join pg_class t on t.oid = con.confrelid
     where n.nspname = current_schema() and con.contype in ('p', 'f') and not c.relispartition`.execute(db)

  const tables = new Map<string, TableInfo>()
  for (const c of columns) {
    if (MIGRATION_TABLES.has(c.table)) continue
    let table = tables.get(c.table)
    if (!table) tables.set(c.table, table = { name: c.table, columns: [], primaryKey: [], references: [], identityAlways: false })
    table.columns.push({ name: c.name, type: c.type })
    if (c.identity === 'a') table.identityAlways = true
  }
  for (const con of constraints) {
    const table = tables.get(con.table)
    if (!table) continue
    if (con.kind === 'p') table.primaryKey = con.columns
    else if (con.target && con.target !== con.table && !table.references.includes(con.target)) table.references.push(con.target)
  }
  return insertionOrder([...tables.values()])
}

function insertionOrder (tables: TableInfo[]): TableInfo[] {
  const rank = (t: TableInfo) => `${SEEDED_TABLES.has(t.name) ? 1 : 0}${t.name}`
  const pending = new Map(tables.map((t) => [t.name, t]))
  const done = new Set<string>()
  const order: TableInfo[] = []
  while (pending.size > 0) {
    const ready = [...pending.values()]
      .filter((t) => t.references.every((r) => done.has(r) || !pending.has(r)))
      .sort((a, b) => (rank(a) < rank(b) ? -1 : 1))
    const next = ready[0]
    if (!next) throw new Error(`tables ${[...pending.keys()].join(', ')} reference each other: no insertion order`)
    pending.delete(next.name)
    done.add(next.name)
    order.push(next)
  }
  return order
}

/** The sequences of the current schema (serial and identity columns' own among them). */
export async function listSequences (db: Db): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = current_schema() and c.relkind = 'S' order by c.relname`.execute(db)
  return rows.map((r) => r.name)
}

/** The migrations applied to the database, in order; null when it has no schema at all. */
export async function appliedMigrations (db: Db): Promise<string[] | null> {
  const { rows } = await sql<{ exists: boolean }>`select to_regclass('kysely_migration') is not null as exists`.execute(db)
  if (!rows[0]?.exists) return null
  const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)
  return applied.rows.map((r) => r.name)
}

/** The migrations this version of Datagate ships, in order (as the migrator finds them). */
export function knownMigrations (): string[] {
  return readdirSync(migrationsDir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => f.replace(/\.(ts|js)$/, ''))
}

/** Tables holding rows, seeded tables aside: an empty database has none. */
export async function occupiedTables (db: Db, tables: readonly TableInfo[]): Promise<string[]> {
  const occupied: string[] = []
  for (const table of tables) {
    if (SEEDED_TABLES.has(table.name)) continue
    const { rows } = await sql<{ any: boolean }>`select exists (select from ${sql.id(table.name)}) as any`.execute(db)
    if (rows[0]?.any) occupied.push(table.name)
  }
  return occupied
}

/**
 * Session settings under which every value's text form is exact and read back as written: UTC
 * timestamps to the microsecond, ISO dates, shortest exact floats, hex bytea. Local to the transaction.
 */
export async function useCanonicalText (db: Db): Promise<void> {
  await sql`select set_config('timezone', 'UTC', true), set_config('datestyle', 'ISO, YMD', true),
                   set_config('intervalstyle', 'postgres', true), set_config('extra_float_digits', '1', true),
                   set_config('bytea_output', 'hex', true)`.execute(db)
}
