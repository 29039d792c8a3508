// Owner: catalog (encryption at rest of records). Sensitive fields of records are stored encrypted
// under a data key per dataset; data keys are stored wrapped by the deployment's master key, which
// never enters the database. Equality filters on encrypted fields use blind indexes (keyed HMACs).
// - data_keys: the wrapped data key of each dataset, which master key wrapped it, and when it was
//   destroyed (crypto-shredding: the wrapped key is erased);
// - master_keys: the master keys this database has known, by fingerprint, with a sealed check value
//   so that a process started with the wrong key refuses to start before writing anything;
// - datasets.encrypted_fields: the fields of an important dataset the office marked for encryption
//   (fields of sensitive PI types are encrypted whatever is marked);
// - records.sealed: the values of a record's encrypted fields, sealed together (their places in
//   `data` hold a mark);
// - records.blind: the blind indexes of a record's encrypted fields, searched through a GIN index.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('master_keys')
    .addColumn('fingerprint', 'text', (c) => c.primaryKey())
    .addColumn('check_value', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('retired_at', 'timestamptz')
    .execute()
  await db.schema.createTable('data_keys')
    .addColumn('dataset_code', 'text', (c) => c.primaryKey().references('datasets.code'))
    .addColumn('suite', 'text', (c) => c.notNull().check(sql`suite in ('aes-256-gcm', 'sm4')`))
    .addColumn('wrapped', 'bytea')
    .addColumn('master_fingerprint', 'text', (c) => c.references('master_keys.fingerprint'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('rewrapped_at', 'timestamptz')
    .addColumn('destroyed_at', 'timestamptz')
    .addColumn('destroyed_by', 'text')
    // a live key has its wrapped bytes and their master; a destroyed one has neither
    .addCheckConstraint('data_keys_state', sql`(destroyed_at is null and wrapped is not null and master_fingerprint is not null)
      or (destroyed_at is not null and wrapped is null)`)
    .execute()
  await db.schema.alterTable('datasets').addColumn('encrypted_fields', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`)).execute()
  await db.schema.alterTable('records').addColumn('sealed', 'bytea').addColumn('blind', 'jsonb').execute()
  await sql`create index records_blind_idx on records using gin (blind jsonb_path_ops) where blind is not null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index records_blind_idx`.execute(db)
  await db.schema.alterTable('records').dropColumn('blind').dropColumn('sealed').execute()
  await db.schema.alterTable('datasets').dropColumn('encrypted_fields').execute()
  await db.schema.dropTable('data_keys').execute()
  await db.schema.dropTable('master_keys').execute()
}
