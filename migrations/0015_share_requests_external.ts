// Owner: authorization service. Share requests that take data out of the university, and renewals
// (issue 16; 001 §42, §58, 004 §25):
// - share_requests.external, recipient_name, recipient_kind: the data is provided outside the
//   university (对外提供) to the named recipient; such a request follows the workflow
//   `producer_office_leadership` (the producer's steward, then the office, then the leading group);
// - share_request_reviews.party `leadership`: the leading group's review;
// - share_requests.renews: the grant a request renews; a grant has one open or granted renewal at a
//   time (partial unique index). No foreign key: grants already reference their share request, and a
//   cycle between the two tables would leave backup/restore no order to insert them in; the service
//   checks that the grant exists, is live and is the consumer's own.
// Existing requests are not external and renew nothing.
import { sql, type Kysely } from 'kysely'

const RECIPIENT_KINDS = ['government', 'enterprise', 'university', 'research_institute', 'individual', 'other']

const oneOf = (column: string, values: readonly string[]) =>
  sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`

async function replaceCheck (db: Kysely<any>, table: string, name: string, check: ReturnType<typeof sql>) {
  await db.schema.alterTable(table).dropConstraint(name).execute()
  await db.schema.alterTable(table).addCheckConstraint(name, check).execute()
}

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('share_requests')
    .addColumn('external', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('recipient_name', 'text')
    .addColumn('recipient_kind', 'text', (c) => c.check(oneOf('recipient_kind', RECIPIENT_KINDS)))
    .addColumn('renews', 'uuid')
    .execute()
  await db.schema.alterTable('share_requests').addCheckConstraint('share_requests_recipient',
    sql`(external and recipient_name is not null and recipient_kind is not null)
      or (not external and recipient_name is null and recipient_kind is null)`).execute()
  await replaceCheck(db, 'share_requests', 'share_requests_workflow_check',
    oneOf('workflow', ['none', 'rule', 'office', 'producer_office', 'producer_office_leadership']))
  // an external request is reviewed by the leading group, unless its dataset is not shareable at all
  await db.schema.alterTable('share_requests').addCheckConstraint('share_requests_external_workflow',
    sql`not external or workflow in ('none', 'producer_office_leadership')`).execute()
  await replaceCheck(db, 'share_request_reviews', 'share_request_reviews_party_check',
    oneOf('party', ['rule', 'producer', 'office', 'leadership']))
  await sql`create unique index share_requests_one_renewal on share_requests (renews)
    where renews is not null and status in ('pending_review', 'approved', 'active')`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('share_requests_one_renewal').execute()
  await replaceCheck(db, 'share_request_reviews', 'share_request_reviews_party_check', oneOf('party', ['rule', 'producer', 'office']))
  await db.schema.alterTable('share_requests').dropConstraint('share_requests_external_workflow').execute()
  await replaceCheck(db, 'share_requests', 'share_requests_workflow_check', oneOf('workflow', ['none', 'rule', 'office', 'producer_office']))
  await db.schema.alterTable('share_requests').dropConstraint('share_requests_recipient').execute()
  await db.schema.alterTable('share_requests')
    .dropColumn('renews').dropColumn('recipient_kind').dropColumn('recipient_name').dropColumn('external')
    .execute()
}
