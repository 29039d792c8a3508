// Owner: masking service. Masking policies of datasets: per scenario profile (display,
// internal_analysis, third_party) a rule per field, versioned: the current policy and every version
// it has had, with who changed it and why.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('masking_policies')
    .addColumn('dataset_code', 'text', (c) => c.primaryKey().references('datasets.code'))
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version > 0`))
    .addColumn('profiles', 'jsonb', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema.createTable('masking_policy_versions')
    .addColumn('dataset_code', 'text', (c) => c.notNull().references('datasets.code'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('profiles', 'jsonb', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('changed_by', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('masking_policy_versions_pk', ['dataset_code', 'version'])
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('masking_policy_versions').execute()
  await db.schema.dropTable('masking_policies').execute()
}
