// Owner: platform (auth). Who holds which role (R1.2, 004 §25), and terminal control (终端管控, 004 §11).
// - principals: every role assignment the platform has seen a token carry, one row per issuer,
//   subject, unit and set of roles (sorted), with the latest token id and expiry of that assignment
//   and its first and last use. Never the token. Written in batches by every process that verifies
//   tokens; a unit code is not a reference (the campus identity provider may name units the
//   catalog does not hold).
// - service_clients.allowed_addresses: the addresses and CIDR ranges (canonical form) a service
//   client's tokens, and the token endpoint for it, are accepted from; empty (every existing client)
//   means from anywhere, as before.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('principals')
    // order of first sight, for keyset pagination
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('sub', 'text', (c) => c.notNull())
    .addColumn('unit_code', 'text', (c) => c.notNull())
    .addColumn('roles', sql`text[]`, (c) => c.notNull())
    .addColumn('client_id', 'text')
    .addColumn('token_id', 'text')
    .addColumn('token_expires_at', 'timestamptz')
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('uses', 'bigint', (c) => c.notNull().defaultTo(0))
    .addUniqueConstraint('principals_assignment', ['issuer', 'sub', 'unit_code', 'roles'])
    .addCheckConstraint('principals_seen', sql`last_seen_at >= first_seen_at`)
    .execute()
  await db.schema.createIndex('principals_unit_idx').on('principals').columns(['unit_code', 'id']).execute()

  await db.schema.alterTable('service_clients')
    .addColumn('allowed_addresses', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('service_clients').dropColumn('allowed_addresses').execute()
  await db.schema.dropTable('principals').execute()
}
