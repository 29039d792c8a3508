// Owner: authorization service (purposes; new columns of consents, share requests and grants).
// Consent held row by row (003 3(1), 3(3)):
// - purposes: the office's list of the campus's purposes of use; retired, never deleted.
// - a consent names one purpose (purpose_code); its free-text purpose becomes optional.
// - a share request (and its grant) says whether it rests on consent (consent_based) and names the
//   purpose its consents must be for (purpose_code). A grant on consent serves only the rows of
//   persons holding a valid consent for its dataset and purpose: the data path looks consents up
//   by (dataset, purpose, person) in consents_row_idx, for every row it serves.
// - an upgraded database stays valid: when it holds consents, or grants that now rest on consent,
//   a purpose `legacy` is created and given to them (their purpose was free text).
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('purposes')
    .addColumn('code', 'text', (c) => c.primaryKey().check(sql`code ~ '^[a-z][a-z0-9_]{1,63}$'`))
    .addColumn('name_zh', 'text', (c) => c.notNull())
    .addColumn('name_en', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'timestamptz')
    .addColumn('retired_by', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema.alterTable('consents').addColumn('purpose_code', 'text', (c) => c.references('purposes.code')).execute()
  await db.schema.alterTable('consents').alterColumn('purpose', (c) => c.dropNotNull()).execute()
  for (const table of ['share_requests', 'grants']) {
    await db.schema.alterTable(table)
      .addColumn('consent_based', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('purpose_code', 'text', (c) => c.references('purposes.code'))
      .execute()
  }

  // requests that listed consents rested on them; grants on sensitive or children's data rest on consent whatever they said
  await sql`update share_requests set consent_based = true where cardinality(consent_ids) > 0`.execute(db)
  await sql`update grants g set consent_based = true where cardinality(g.consent_ids) > 0
    or exists (select 1 from datasets d where d.code = g.dataset_code and (d.sensitive_pi or d.children_pi))`.execute(db)
  const needsLegacy = sql<boolean>`(exists (select 1 from consents) or exists (select 1 from share_requests where consent_based)
    or exists (select 1 from grants where consent_based))`
  await sql`insert into purposes (code, name_zh, name_en, description, created_by)
    select 'legacy', '迁移前的用途（自由文本）', 'migrated, purpose as free text',
           'Consents, share requests and grants recorded before purposes were kept as a list: their purpose is the free text they carry.', 'system:migration'
    where ${needsLegacy}`.execute(db)
  await sql`update consents set purpose_code = 'legacy'`.execute(db)
  await sql`update share_requests r set purpose_code = 'legacy' where r.consent_based
    or exists (select 1 from datasets d where d.code = r.dataset_code and (d.sensitive_pi or d.children_pi))`.execute(db)
  await sql`update grants set purpose_code = 'legacy' where consent_based`.execute(db)
  await db.schema.alterTable('consents').alterColumn('purpose_code', (c) => c.setNotNull()).execute()

  // the semi-join of the data path: consents in force of a dataset, purpose and person, read from the index alone
  await sql`create index consents_row_idx on consents (dataset_code, purpose_code, person_key) include (expires_at, kind) where status = 'active'`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index consents_row_idx`.execute(db)
  for (const table of ['grants', 'share_requests']) {
    await db.schema.alterTable(table).dropColumn('purpose_code').dropColumn('consent_based').execute()
  }
  await sql`update consents set purpose = coalesce(purpose, purpose_code)`.execute(db)
  await db.schema.alterTable('consents').alterColumn('purpose', (c) => c.setNotNull()).execute()
  await db.schema.alterTable('consents').dropColumn('purpose_code').execute()
  await db.schema.dropTable('purposes').execute()
}
