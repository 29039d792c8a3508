// Owner: audit service. The blacklist (黑名单, R11.2): token subjects (optionally within one unit),
// service clients and IP addresses or CIDR ranges refused on every request until the entry expires
// or is lifted. Entries are evidence: the database refuses to delete them, and an update may only
// lift an entry that is not lifted yet (once, with who and why).
import { sql, type Kysely } from 'kysely'

const oneOf = (column: string, values: readonly string[]) =>
  sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('audit_blacklist')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // order of creation, for keyset pagination (newest first)
    .addColumn('seq', 'bigint', (c) => c.notNull().unique().generatedAlwaysAsIdentity())
    .addColumn('kind', 'text', (c) => c.notNull().check(oneOf('kind', ['principal', 'client', 'ip'])))
    // a token subject, a service client id, or an address or range in canonical form (10.0.0.0/8)
    .addColumn('value', 'text', (c) => c.notNull().check(sql`length(value) between 1 and 200`))
    // principal only: the block holds only for tokens of this unit
    .addColumn('unit', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    // set when the alert rules blocked the caller on their own
    .addColumn('alert_id', 'integer', (c) => c.references('audit_alerts.id'))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lifted_at', 'timestamptz')
    .addColumn('lifted_by', 'text')
    .addColumn('lift_reason', 'text')
    .addCheckConstraint('audit_blacklist_unit', sql`unit is null or kind = 'principal'`)
    .addCheckConstraint('audit_blacklist_expiry', sql`expires_at is null or expires_at > created_at`)
    .addCheckConstraint('audit_blacklist_lift', sql`(lifted_at is null) = (lifted_by is null) and (lifted_at is null) = (lift_reason is null)`)
    .execute()
  await db.schema.createIndex('audit_blacklist_target_idx').on('audit_blacklist').columns(['kind', 'value']).execute()
  // what every process loads each second: entries not lifted (expired ones drop out by expires_at)
  await db.schema.createIndex('audit_blacklist_live_idx').on('audit_blacklist').column('expires_at')
    .where(sql.ref('lifted_at'), 'is', null).execute()

  await sql`
    create function audit_blacklist_guard() returns trigger language plpgsql as $$
    begin
      if TG_OP = 'UPDATE' and OLD.lifted_at is null and NEW.lifted_at is not null
         and (to_jsonb(NEW) - array['lifted_at', 'lifted_by', 'lift_reason']) = (to_jsonb(OLD) - array['lifted_at', 'lifted_by', 'lift_reason']) then
        return NEW;
      end if;
      raise exception 'blacklist entries are evidence: % on % refused (only lifting, once)', TG_OP, TG_TABLE_NAME
        using errcode = 'insufficient_privilege';
    end $$`.execute(db)
  await sql`create trigger audit_blacklist_evidence before update or delete on audit_blacklist
            for each row execute function audit_blacklist_guard()`.execute(db)
  await sql`create trigger audit_blacklist_no_truncate before truncate on audit_blacklist
            for each statement execute function audit_blacklist_guard()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_blacklist').execute()
  await sql`drop function audit_blacklist_guard()`.execute(db)
}
