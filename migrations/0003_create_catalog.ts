// Owner: catalog service. The graded data catalog (数据资源目录): grading policy, datasets with their
// fields and grade history, authoritative records with provenance, ingest batches, the asset
// registry of business systems; and the domain-event outbox every service appends to until the
// audit service consumes it.
import { sql, type Kysely } from 'kysely'

const CATEGORIES = ['student', 'staff', 'teaching', 'asset', 'research', 'school', 'routine']
const GRADES = ['important', 'ordinary', 'internal_public', 'external_public']
const NATIONAL_GRADES = ['core', 'important', 'general']
const ATTRIBUTES = ['unconditional', 'conditional', 'none']
const STATUSES = ['draft', 'published', 'retired', 'destroyed']
const FREQUENCIES = ['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', 'on_demand']

const oneOf = (column: string, values: string[]) => sql.raw(`${column} in (${values.map((v) => `'${v}'`).join(', ')})`)

export async function up (db: Kysely<any>): Promise<void> {
  // sensitivity level of a field → the lowest grade a dataset holding it may have (就高从严)
  await db.schema.createTable('grading_levels')
    .addColumn('sensitivity', 'integer', (c) => c.primaryKey().check(sql`sensitivity between 1 and 4`))
    .addColumn('minimum_grade', 'text', (c) => c.notNull().check(oneOf('minimum_grade', GRADES)))
    .addColumn('national_grade', 'text', (c) => c.notNull().check(oneOf('national_grade', NATIONAL_GRADES)))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.insertInto('grading_levels').values([
    { sensitivity: 1, minimum_grade: 'external_public', national_grade: 'general', label: 'public', updated_by: 'migration' },
    { sensitivity: 2, minimum_grade: 'internal_public', national_grade: 'general', label: 'internal', updated_by: 'migration' },
    { sensitivity: 3, minimum_grade: 'ordinary', national_grade: 'general', label: 'sensitive', updated_by: 'migration' },
    { sensitivity: 4, minimum_grade: 'important', national_grade: 'important', label: 'highly sensitive', updated_by: 'migration' }
  ]).execute()

  await db.schema.createTable('datasets')
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('producer_unit', 'text', (c) => c.notNull().references('units.code'))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull().check(oneOf('category', CATEGORIES)))
    .addColumn('grade', 'text', (c) => c.notNull().check(oneOf('grade', GRADES)))
    .addColumn('national_grade', 'text', (c) => c.notNull().check(oneOf('national_grade', NATIONAL_GRADES)))
    .addColumn('share_attribute', 'text', (c) => c.notNull().check(oneOf('share_attribute', ATTRIBUTES)))
    .addColumn('open_attribute', 'text', (c) => c.notNull().check(oneOf('open_attribute', ATTRIBUTES)))
    .addColumn('personnel_basic', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('update_frequency', 'text', (c) => c.notNull().check(oneOf('update_frequency', FREQUENCIES)))
    .addColumn('retention_days', 'integer', (c) => c.notNull().check(sql`retention_days > 0`))
    .addColumn('holds_pi', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('sensitive_pi', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('children_pi', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('primary_key', sql`text[]`, (c) => c.notNull())
    .addColumn('person_key', 'text')
    .addColumn('fields', 'jsonb', (c) => c.notNull())
    .addColumn('sources', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('metadata_restricted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft').check(oneOf('status', STATUSES)))
    .addColumn('grade_version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('published_at', 'timestamptz')
    .execute()
  // one data, one source (一数一源): one live dataset per subject
  await sql`create unique index datasets_subject_key on datasets (lower(subject)) where status in ('draft', 'published')`.execute(db)
  await db.schema.createIndex('datasets_producer_idx').on('datasets').columns(['producer_unit', 'code']).execute()

  // every grade or attribute a dataset has had, with who changed it and why
  await db.schema.createTable('dataset_grade_history')
    .addColumn('dataset_code', 'text', (c) => c.notNull().references('datasets.code'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('grade', 'text', (c) => c.notNull())
    .addColumn('national_grade', 'text', (c) => c.notNull())
    .addColumn('share_attribute', 'text', (c) => c.notNull())
    .addColumn('open_attribute', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('changed_by', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('dataset_grade_history_pk', ['dataset_code', 'version'])
    .execute()

  // Records: one row per record, the payload as JSONB, keyed by the dataset's primary key. The
  // composite primary key serves upserts and keyset pages; no foreign key to datasets (a check per
  // ingested row, and records are removed with their dataset by the destruction workflow).
  await db.schema.createTable('records')
    .addColumn('dataset_code', 'text', (c) => c.notNull())
    .addColumn('record_key', 'text', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('person_key', 'text')
    .addColumn('batch_id', 'uuid', (c) => c.notNull())
    .addColumn('source_unit', 'text', (c) => c.notNull())
    .addColumn('source_sub', 'text', (c) => c.notNull())
    .addColumn('source_client', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('records_pk', ['dataset_code', 'record_key'])
    .execute()
  await sql`create index records_person_idx on records (dataset_code, person_key) where person_key is not null`.execute(db)
  await db.schema.createIndex('records_created_idx').on('records').columns(['dataset_code', 'created_at']).execute()

  // one row per ingest request: provenance of each record, validity over time
  await db.schema.createTable('ingest_batches')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('dataset_code', 'text', (c) => c.notNull().references('datasets.code'))
    .addColumn('unit', 'text', (c) => c.notNull())
    .addColumn('sub', 'text', (c) => c.notNull())
    .addColumn('client', 'text')
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('received', 'integer', (c) => c.notNull())
    .addColumn('accepted', 'integer', (c) => c.notNull())
    .addColumn('rejected', 'integer', (c) => c.notNull())
    .addColumn('errors', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('ingest_batches_dataset_idx').on('ingest_batches').columns(['dataset_code', 'created_at']).execute()

  // the asset registry (R2.9): business systems of each unit and the datasets they feed
  await db.schema.createTable('business_systems')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('unit_code', 'text', (c) => c.notNull().references('units.code'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('owner_name', 'text', (c) => c.notNull())
    .addColumn('owner_contact', 'text', (c) => c.notNull())
    .addColumn('datasets', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('confirmed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('confirmed_by', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('business_systems_unit_name_key', ['unit_code', 'name'])
    .execute()

  // Owner: platform. Domain events (who did what to which object) of every service, written in the
  // transaction of the change; the audit service chains them into its log.
  await db.schema.createTable('domain_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('actor_sub', 'text', (c) => c.notNull())
    .addColumn('actor_unit', 'text', (c) => c.notNull())
    .addColumn('actor_client', 'text')
    .addColumn('object_type', 'text', (c) => c.notNull())
    .addColumn('object_id', 'text', (c) => c.notNull())
    .addColumn('dataset_code', 'text')
    .addColumn('request_id', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute()
  await db.schema.createIndex('domain_events_object_idx').on('domain_events').columns(['object_type', 'object_id', 'id']).execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  for (const table of ['domain_events', 'business_systems', 'ingest_batches', 'records', 'dataset_grade_history', 'datasets', 'grading_levels']) {
    await db.schema.dropTable(table).execute()
  }
}
