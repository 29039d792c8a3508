// Owner: catalog service. The office's decision on a dataset's grading (001 §8(1), §39) and the record
// of how its data is collected (R3.2; 002 §19, 003 2(1), 3(4)).
// - datasets.grading_status: proposed (a steward's terms await the office), confirmed, rejected;
//   grading_decided_by/_at/_reason: the office's last decision;
// - datasets.grading_proposal: on a published dataset, the changes of its producer that loosen
//   protection and wait for the office; the row itself keeps the confirmed terms it is served under;
// - datasets.collection: method, channel, scope, frequency, legal basis, collection rules and the
//   risk, necessity and collective-decision references.
// Datasets published before this migration count as confirmed by it; drafts are proposed.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('datasets')
    .addColumn('grading_status', 'text', (c) => c.notNull().defaultTo('proposed')
      .check(sql`grading_status in ('proposed', 'confirmed', 'rejected')`))
    .addColumn('grading_decided_by', 'text')
    .addColumn('grading_decided_at', 'timestamptz')
    .addColumn('grading_reason', 'text')
    .addColumn('grading_proposal', 'jsonb')
    .addColumn('collection', 'jsonb')
    .execute()
  // a pending proposal is what makes a published dataset's grading `proposed`
  await sql`alter table datasets add constraint datasets_grading_proposal
    check (grading_proposal is null or grading_status = 'proposed')`.execute(db)
  await sql`update datasets
    set grading_status = 'confirmed', grading_decided_by = 'migration', grading_decided_at = coalesce(published_at, now()),
        grading_reason = 'published before the office confirmed gradings (migration 0016)'
    where status <> 'draft'`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`alter table datasets drop constraint datasets_grading_proposal`.execute(db)
  await db.schema.alterTable('datasets')
    .dropColumn('collection')
    .dropColumn('grading_proposal')
    .dropColumn('grading_reason')
    .dropColumn('grading_decided_at')
    .dropColumn('grading_decided_by')
    .dropColumn('grading_status')
    .execute()
}
