// Owner: the gateway's data-access path (exports and leak tracing).
// - exports: one row per export job of a grant with the `export` mode: who asked, under which grant,
//   which fields and filters, its progress, the sealed file's size and digest, and how its watermark
//   key is derived (the key itself is never stored: it is derived from the masking secret and the
//   export id, so tracing needs nothing but this row);
// - export_decoys: the synthetic rows each export carries, as keyed digests of their cells (and how
//   often each cell's value also occurs in the real rows), so that a leaked file can be matched.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('exports')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // order of creation, for keyset listing (newest first)
    .addColumn('seq', 'bigint', (c) => c.notNull().unique().generatedAlwaysAsIdentity())
    .addColumn('grant_id', 'uuid', (c) => c.notNull().references('grants.id'))
    .addColumn('dataset_code', 'text', (c) => c.notNull())
    .addColumn('consumer_unit', 'text', (c) => c.notNull())
    .addColumn('sub', 'text', (c) => c.notNull())
    .addColumn('client', 'text')
    .addColumn('fields', sql`text[]`, (c) => c.notNull())
    // the caller's filters as the row-filter document they were parsed into, and their fields and operators
    .addColumn('filters', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('filter_summary', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued')
      .check(sql`status in ('queued', 'running', 'done', 'failed', 'expired')`))
    .addColumn('rows_total', 'bigint', (c) => c.notNull())
    .addColumn('rows_written', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('decoys', 'integer', (c) => c.notNull().defaultTo(0))
    // the campus day whose row quota the export was counted against
    .addColumn('quota_day', 'date', (c) => c.notNull())
    .addColumn('bytes', 'bigint')
    .addColumn('sha256', 'text')
    .addColumn('file_name', 'text')
    .addColumn('file_suite', 'text', (c) => c.notNull())
    // how the watermark key is derived, and a check value telling whether today's masking secret still derives it
    .addColumn('watermark_key_ref', 'text', (c) => c.notNull())
    .addColumn('watermark_check', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('error', 'text')
    .addCheckConstraint('exports_rows', sql`rows_total >= 0 and rows_written >= 0`)
    .execute()
  await db.schema.createIndex('exports_unit_seq_idx').on('exports').columns(['consumer_unit', 'seq']).execute()
  // the jobs that may be alive: concurrency limits and the sweep of dead ones
  await db.schema.createIndex('exports_live_idx').on('exports').columns(['status', 'heartbeat_at'])
    .where(sql<boolean>`status in ('queued', 'running')`).execute()
  await db.schema.createIndex('exports_expiry_idx').on('exports').column('expires_at')
    .where(sql<boolean>`status = 'done'`).execute()

  await db.schema.createTable('export_decoys')
    .addColumn('export_id', 'uuid', (c) => c.notNull().references('exports.id').onDelete('cascade'))
    .addColumn('ordinal', 'integer', (c) => c.notNull())
    // the real row after which it was written
    .addColumn('position', 'bigint', (c) => c.notNull())
    // column → {d: keyed digest of the cell, f: real rows holding the same value in that column,
    // q: the chance that a row not from the export holds it}
    .addColumn('cells', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('export_decoys_pk', ['export_id', 'ordinal'])
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('export_decoys').execute()
  await db.schema.dropTable('exports').execute()
}
