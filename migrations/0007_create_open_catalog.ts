// Owners: catalog service (open_review_rounds, open_reviews): the three-level confidentiality review
// that puts a dataset into the open catalog (开放目录, R8.3). Authorization service (open_requests,
// open_request_reviews): requests for conditional-open data from outside applicants and the
// office's decision on them (R8.2).
import { sql, type Kysely } from 'kysely'

const oneOf = (column: string, values: readonly string[]) =>
  sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`

const DECISIONS = ['approve', 'reject']

export async function up (db: Kysely<any>): Promise<void> {
  // one round per attempt at publication; a rejection closes it, a level-1 approval opens the next
  await db.schema.createTable('open_review_rounds')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('dataset_code', 'text', (c) => c.notNull().references('datasets.code'))
    .addColumn('round', 'integer', (c) => c.notNull().check(sql`round > 0`))
    .addColumn('status', 'text', (c) => c.notNull().check(oneOf('status', ['in_review', 'approved', 'rejected'])))
    .addColumn('started_by', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('closed_at', 'timestamptz')
    // what the leading group approved: the dataset's grade version and open attribute at that moment
    .addColumn('approved_grade_version', 'integer')
    .addColumn('approved_open_attribute', 'text')
    .addUniqueConstraint('open_review_rounds_number', ['dataset_code', 'round'])
    .addCheckConstraint('open_review_rounds_closed', sql`(status = 'in_review') = (closed_at is null)`)
    .addCheckConstraint('open_review_rounds_approval', sql`(status = 'approved') = (approved_grade_version is not null and approved_open_attribute is not null)`)
    .execute()
  // at most one round under review per dataset
  await db.schema.createIndex('open_review_rounds_current').on('open_review_rounds').column('dataset_code').unique()
    .where(sql.ref('status'), '=', 'in_review').execute()

  await db.schema.createTable('open_reviews')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('round_id', 'uuid', (c) => c.notNull().references('open_review_rounds.id'))
    // 1: the producer unit's steward, 2: the office (security_admin), 3: the leading group (leadership)
    .addColumn('level', 'integer', (c) => c.notNull().check(sql`level between 1 and 3`))
    .addColumn('decision', 'text', (c) => c.notNull().check(oneOf('decision', DECISIONS)))
    .addColumn('reason', 'text')
    .addColumn('reviewer_sub', 'text', (c) => c.notNull())
    .addColumn('reviewer_unit', 'text', (c) => c.notNull())
    .addColumn('reviewed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('open_reviews_once', ['round_id', 'level'])
    .addCheckConstraint('open_reviews_reason', sql`decision = 'approve' or reason is not null`)
    .execute()

  await db.schema.createTable('open_requests')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // order of filing, for keyset pagination (newest first)
    .addColumn('seq', 'bigint', (c) => c.notNull().unique().generatedAlwaysAsIdentity())
    .addColumn('dataset_code', 'text', (c) => c.notNull().references('datasets.code'))
    .addColumn('producer_unit', 'text', (c) => c.notNull().references('units.code'))
    .addColumn('applicant_name', 'text', (c) => c.notNull())
    .addColumn('applicant_organisation', 'text', (c) => c.notNull())
    .addColumn('applicant_contact', 'text', (c) => c.notNull())
    .addColumn('applicant_qualification', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('fields', sql`text[]`, (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(oneOf('status', ['pending_review', 'approved', 'rejected'])))
    // SHA-256 (hex) of the receipt the applicant follows the request with; the receipt itself is never stored
    .addColumn('receipt_sha256', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('open_requests_producer_idx').on('open_requests').columns(['producer_unit', 'seq']).execute()
  await db.schema.createIndex('open_requests_dataset_idx').on('open_requests').columns(['dataset_code', 'status']).execute()

  // the office's decision; one per request
  await db.schema.createTable('open_request_reviews')
    .addColumn('open_request_id', 'uuid', (c) => c.primaryKey().references('open_requests.id'))
    .addColumn('decision', 'text', (c) => c.notNull().check(oneOf('decision', DECISIONS)))
    .addColumn('reason', 'text')
    .addColumn('conditions', 'text')
    .addColumn('valid_until', 'date')
    .addColumn('reviewer_sub', 'text', (c) => c.notNull())
    .addColumn('reviewer_unit', 'text', (c) => c.notNull())
    .addColumn('reviewed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('open_request_reviews_reason', sql`decision = 'approve' or reason is not null`)
    .addCheckConstraint('open_request_reviews_validity', sql`decision = 'reject' or valid_until is not null`)
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  for (const table of ['open_request_reviews', 'open_requests', 'open_reviews', 'open_review_rounds']) {
    await db.schema.dropTable(table).execute()
  }
}
