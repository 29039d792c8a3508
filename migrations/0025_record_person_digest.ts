// Owner: catalog (written at ingest), read by the gateway for the person-access trace. The keyed
// digest of a record's person key (audit/persons/trace.ts), worked out once at ingest for datasets
// whose reads are traced, so that a read selects it instead of hashing every person on every page:
// - records.person_digest: HMAC of person_key under the trace key of the master key at ingest;
// - records.person_digest_key: which trace key (a fingerprint of it). A read takes the digest only
//   while this names the trace key it holds (after a master key rotation, or for records stored
//   before this migration, it hashes the person key itself, as before).
import type { Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('records').addColumn('person_digest', 'bytea').addColumn('person_digest_key', 'integer').execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('records').dropColumn('person_digest_key').dropColumn('person_digest').execute()
}
