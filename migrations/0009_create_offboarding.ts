// Owners: authorization service (offboardings): people who left, what was revoked when they left,
// and their one-year confidentiality period (脱岗管理期, R1.4). Platform (service_clients, new
// columns): the person who holds each client, and for an outside technical service provider
// (外包/技术服务商) its confidentiality agreement, without which a vendor client gets no token (R1.1).
import { sql, type Kysely } from 'kysely'

const AGREEMENT = [
  'vendor_name', 'agreement_reference', 'agreement_signer', 'agreement_signed_at', 'agreement_expires_at',
  'agreement_recorded_by', 'agreement_recorded_at'
]

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('offboardings')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // order of recording, for keyset pagination (newest first)
    .addColumn('seq', 'bigint', (c) => c.notNull().unique().generatedAlwaysAsIdentity())
    .addColumn('sub', 'text', (c) => c.notNull())
    .addColumn('unit_code', 'text', (c) => c.notNull().references('units.code'))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('exit_audit', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('offboarded_by', 'text', (c) => c.notNull())
    .addColumn('offboarded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('confidentiality_until', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_grants', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('withdrawn_requests', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('disabled_clients', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    // a person leaves a unit once; the unique index also serialises two offboardings of one person
    .addUniqueConstraint('offboardings_once', ['sub', 'unit_code'])
    .addCheckConstraint('offboardings_period', sql`confidentiality_until > offboarded_at`)
    .execute()
  await db.schema.createIndex('offboardings_until_idx').on('offboardings').column('confidentiality_until').execute()

  await db.schema.alterTable('service_clients')
    .addColumn('holder_sub', 'text')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('internal').check(sql`kind in ('internal', 'vendor')`))
    .addColumn('vendor_name', 'text')
    .addColumn('agreement_reference', 'text')
    .addColumn('agreement_signer', 'text')
    .addColumn('agreement_signed_at', 'timestamptz')
    .addColumn('agreement_expires_at', 'timestamptz')
    .addColumn('agreement_recorded_by', 'text')
    .addColumn('agreement_recorded_at', 'timestamptz')
    .execute()
  // a vendor client always has its whole agreement; an internal one has none of it
  await db.schema.alterTable('service_clients').addCheckConstraint('service_clients_vendor_agreement', sql`
    (kind = 'internal' and num_nonnulls(${sql.join(AGREEMENT.map((c) => sql.ref(c)))}) = 0)
    or (kind = 'vendor' and num_nulls(${sql.join(AGREEMENT.map((c) => sql.ref(c)))}) = 0)`).execute()
  await db.schema.createIndex('service_clients_holder_idx').on('service_clients').column('holder_sub')
    .where(sql.ref('holder_sub'), 'is not', null).execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('service_clients_holder_idx').execute()
  await db.schema.alterTable('service_clients').dropConstraint('service_clients_vendor_agreement').execute()
  await db.schema.alterTable('service_clients')
    .dropColumn('agreement_recorded_at')
    .dropColumn('agreement_recorded_by')
    .dropColumn('agreement_expires_at')
    .dropColumn('agreement_signed_at')
    .dropColumn('agreement_signer')
    .dropColumn('agreement_reference')
    .dropColumn('vendor_name')
    .dropColumn('kind')
    .dropColumn('holder_sub')
    .execute()
  await db.schema.dropTable('offboardings').execute()
}
