// Owner: catalog (encryption at rest of records). From this release every field with a PI type is
// stored sealed (003 3(1)), not only the sensitive ones; records stored before are sealed by the
// catalog's background sweep.
// - records.masked: masked forms of a record's sealed values that do not depend on the grant (the
//   display profile's 138****5678), made at ingest, so that a masked read need not open the values;
//   `#` names the rules they were made with, and a reader holding other rules opens the values.
// - encryption_sweeps: per dataset, the encrypted fields and the masked forms' rules every record
//   was last brought to by the sweep; a dataset whose fields or policy moved on is swept again.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('records').addColumn('masked', 'jsonb').execute()
  await db.schema.createTable('encryption_sweeps')
    .addColumn('dataset_code', 'text', (c) => c.primaryKey().references('datasets.code'))
    .addColumn('fields', sql`text[]`, (c) => c.notNull())
    .addColumn('masked_digest', 'text')
    .addColumn('records', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('swept_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('encryption_sweeps').execute()
  await db.schema.alterTable('records').dropColumn('masked').execute()
}
