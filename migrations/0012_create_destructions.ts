// Owner: catalog service. Supervised destruction of records (数据销毁, R10): proposals with their
// scope and reason, the reviews of the producer's steward and the office, the supervisor's witness,
// and the certificates of executed destructions.
// - destructions: one proposal each (a whole dataset, the rows a filter selects, or the rows past
//   the retention period); at most one open `expired` proposal per dataset, so that the retention
//   sweep of several instances never opens two;
// - destruction_reviews: one decision per reviewing party;
// - destruction_certificates: what was destroyed, how, approved and witnessed by whom, with its
//   digests. Insert-only: the database refuses UPDATE, DELETE and TRUNCATE, so that a certificate
//   outlives the data it certifies unchanged.
import { sql, type Kysely } from 'kysely'

const OPEN = sql.raw('status in (\'pending_review\', \'approved\', \'witnessed\')')

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('destructions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('seq', 'bigint', (c) => c.notNull().unique().generatedAlwaysAsIdentity())
    .addColumn('dataset_code', 'text', (c) => c.notNull().references('datasets.code'))
    .addColumn('producer_unit', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull().check(sql`scope in ('all', 'filter', 'expired')`))
    .addColumn('row_filter', 'jsonb')
    .addColumn('cutoff', 'timestamptz')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('rows_in_scope', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending_review')
      .check(sql`status in ('pending_review', 'approved', 'witnessed', 'rejected', 'executed')`))
    .addColumn('decision_reason', 'text')
    .addColumn('proposed_by', 'text', (c) => c.notNull())
    .addColumn('proposed_unit', 'text', (c) => c.notNull())
    .addColumn('proposed_client', 'text')
    .addColumn('proposed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('witness_sub', 'text')
    .addColumn('witness_unit', 'text')
    .addColumn('witness_note', 'text')
    .addColumn('witnessed_at', 'timestamptz')
    .addColumn('executed_by', 'text')
    .addColumn('executed_unit', 'text')
    .addColumn('executed_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // a filter belongs to a filter proposal, a cutoff to an expired one
    .addCheckConstraint('destructions_scope_args', sql`(scope = 'filter') = (row_filter is not null) and (scope = 'expired') = (cutoff is not null)`)
    .execute()
  await db.schema.createIndex('destructions_producer_idx').on('destructions').columns(['producer_unit', 'seq']).execute()
  await db.schema.createIndex('destructions_dataset_idx').on('destructions').columns(['dataset_code', 'seq']).execute()
  await sql`create unique index destructions_open_expired_key on destructions (dataset_code) where scope = 'expired' and ${OPEN}`.execute(db)

  await db.schema.createTable('destruction_reviews')
    .addColumn('destruction_id', 'uuid', (c) => c.notNull().references('destructions.id'))
    .addColumn('party', 'text', (c) => c.notNull().check(sql`party in ('producer', 'office')`))
    .addColumn('decision', 'text', (c) => c.notNull().check(sql`decision in ('approve', 'reject')`))
    .addColumn('reason', 'text')
    .addColumn('reviewer_sub', 'text', (c) => c.notNull())
    .addColumn('reviewer_unit', 'text', (c) => c.notNull())
    .addColumn('reviewed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('destruction_reviews_pk', ['destruction_id', 'party'])
    .execute()

  await db.schema.createTable('destruction_certificates')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('destruction_id', 'uuid', (c) => c.notNull().unique().references('destructions.id'))
    .addColumn('dataset_code', 'text', (c) => c.notNull())
    .addColumn('content', 'jsonb', (c) => c.notNull())
    .addColumn('digest_sha256', 'text', (c) => c.notNull())
    .addColumn('digest_sm3', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('destruction_certificates_dataset_idx').on('destruction_certificates').columns(['dataset_code', 'issued_at']).execute()
  await sql`
    create function destruction_certificates_immutable() returns trigger language plpgsql as $$
    begin
      raise exception 'destruction certificates are permanent: % on % refused', TG_OP, TG_TABLE_NAME;
    end $$`.execute(db)
  await sql`create trigger destruction_certificates_immutable before update or delete on destruction_certificates
            for each row execute function destruction_certificates_immutable()`.execute(db)
  await sql`create trigger destruction_certificates_no_truncate before truncate on destruction_certificates
            for each statement execute function destruction_certificates_immutable()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('destruction_certificates').execute()
  await sql`drop function destruction_certificates_immutable()`.execute(db)
  await db.schema.dropTable('destruction_reviews').execute()
  await db.schema.dropTable('destructions').execute()
}
