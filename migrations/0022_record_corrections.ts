// Owner: catalog. Data-error correction (001 §33: accurate, consistent data; §64(3): the producer
// verifies and corrects data that falls short of the quality standard, in time).
// - record_corrections: an error in one record's field, reported by a unit holding a grant on the
//   dataset (or by the office on a person's behalf), decided by a steward of the producer unit
//   (accept or reject, with a reason) and, once accepted, made by an ingest batch that names it
//   (resolved_by_batch). due_at is the deadline on the campus calendar (CORRECTION_DEADLINE_DAYS
//   working days after the report); overdue_reported_at marks the one overdue report the sweep
//   makes. The proposed value is stored like a record value: in proposed_value (JSON) for a field
//   stored in the clear, sealed in proposed_sealed under the dataset's data key for an encrypted
//   one; never both.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('record_corrections')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    // order of reporting, for keyset pagination
    .addColumn('seq', 'bigint', (c) => c.notNull().unique().generatedAlwaysAsIdentity())
    .addColumn('dataset_code', 'text', (c) => c.notNull().references('datasets.code'))
    .addColumn('record_key', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('proposed_value', 'jsonb')
    .addColumn('proposed_sealed', 'bytea')
    .addColumn('reporter_unit', 'text', (c) => c.notNull())
    .addColumn('reporter_sub', 'text', (c) => c.notNull())
    .addColumn('reporter_client', 'text')
    .addColumn('on_behalf', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('decision_reason', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'timestamptz')
    .addColumn('resolved_by_batch', 'uuid', (c) => c.references('ingest_batches.id'))
    .addColumn('resolved_by', 'text')
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('overdue_reported_at', 'timestamptz')
    .addColumn('reported_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('record_corrections_status', sql`status in ('open', 'accepted', 'rejected', 'corrected')`)
    .addCheckConstraint('record_corrections_one_proposal', sql`proposed_value is null or proposed_sealed is null`)
    .addCheckConstraint('record_corrections_batch', sql`(status = 'corrected') = (resolved_by_batch is not null)`)
    .execute()
  // the lists: a dataset's corrections, and a reporting unit's own, newest first
  await db.schema.createIndex('record_corrections_dataset_idx').on('record_corrections').columns(['dataset_code', 'seq']).execute()
  await db.schema.createIndex('record_corrections_reporter_idx').on('record_corrections').columns(['dataset_code', 'reporter_unit', 'seq']).execute()
  // the deadline sweep: only the corrections still waiting and not yet reported
  await db.schema.createIndex('record_corrections_due_idx').on('record_corrections').column('due_at')
    .where(sql.ref('overdue_reported_at'), 'is', null).where(sql.ref('status'), 'in', ['open', 'accepted']).execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('record_corrections').execute()
}
