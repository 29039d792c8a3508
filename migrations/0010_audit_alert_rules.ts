// Owner: audit. For the alert rules that look further back than their last minutes (R11.1):
// `unusual_rate` compares a caller's reads with its own baseline of the previous days, `quota` sums a
// grant's rows over a campus day. Two partial indexes on audit_events (created on every partition,
// present and future, like the others of migration 0005), and what an alert found beyond its count
// (the grant and its quota, the datasets, the baseline) on audit_alerts.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`alter table audit_alerts add column if not exists details jsonb not null default '{}'::jsonb`.execute(db)
  // a caller's reads and exports in a period: unusual_rate counts its baseline here, index only
  // (unit and address included: a caller is a subject and unit, or an address without a token)
  await sql`create index if not exists audit_events_reads_idx on audit_events (actor_sub, recorded_at) include (actor_unit, actor_ip)
            where action in ('query', 'export')`.execute(db)
  // one grant's events of a day: quota sums them
  await sql`create index if not exists audit_events_grant_idx on audit_events (grant_id, recorded_at)
            where grant_id is not null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index if exists audit_events_grant_idx`.execute(db)
  await sql`drop index if exists audit_events_reads_idx`.execute(db)
  await sql`alter table audit_alerts drop column if exists details`.execute(db)
}
