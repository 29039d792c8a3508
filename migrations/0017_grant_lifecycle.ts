// Owner: authorization service (grants, new columns). The grant lifecycle of 004 §22, §25:
// - re-certification: a steward of the producer unit re-confirms every live grant periodically.
//   The next due date is computed, not stored: the last confirmation (recertified_at), or the
//   grant's creation before any, plus GRANT_RECERTIFY_DAYS; so existing grants fall due a year
//   (the default) after they were created, and a changed setting applies to every grant at once.
//   recertification_reported_at marks the due grants already reported to the audit log (once each).
// - narrowing needs no column: the grant's own fields, row filter, quota and validity change, and
//   the before/after goes to the audit chain.
import { sql, type Kysely } from 'kysely'

const COLUMNS = ['recertified_at', 'recertified_by', 'recertification_decision', 'recertification_reason', 'recertification_reported_at']

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('grants')
    .addColumn('recertified_at', 'timestamptz')
    .addColumn('recertified_by', 'text')
    .addColumn('recertification_decision', 'text', (c) => c.check(sql`recertification_decision in ('keep', 'revoke')`))
    .addColumn('recertification_reason', 'text')
    .addColumn('recertification_reported_at', 'timestamptz')
    .execute()
  // the sweep and the due list look for live grants by the start of their current period
  await sql`create index grants_recertification_idx on grants ((coalesce(recertified_at, created_at))) where status <> 'revoked'`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index grants_recertification_idx`.execute(db)
  let q = db.schema.alterTable('grants').dropColumn(COLUMNS[0]!)
  for (const c of COLUMNS.slice(1)) q = q.dropColumn(c)
  await q.execute()
}
