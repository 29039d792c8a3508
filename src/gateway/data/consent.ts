import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database, Grant } from '../../db/database.js'
import type { RowFilter } from '../../platform/row-filter.js'
import { predicateOf, type GrantView } from './plan.js'
import type { ReadPlan, StoredRow } from './reader.js'

/**
 * The rows the grant's and the caller's filters select after `after`, up to and with `through` (to
 * the end when undefined), consent aside: without filters an index-only range count of the primary
 * key, with no consent lookups. What consent left out is this less what was served.
 */
async function countSelected (db: Kysely<Database>, view: GrantView, where: RowFilter, { after, through }: { after?: string | undefined, through?: string | undefined }): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from records
    where dataset_code = ${view.grant.dataset_code} and ${predicateOf(view, where, { consent: false })}
      ${after === undefined ? sql`` : sql`and record_key > ${after}`} ${through === undefined ? sql`` : sql`and record_key <= ${through}`}`.execute(db)
  return Number(rows[0]?.n ?? 0)
}

/** A page row of a read `counted` under consent: the rows its filters select, consent aside, from the cursor to the page's last served row (to the end on the last page). */
interface CountedRow extends StoredRow { selected?: string | number }

/**
 * The page query of a grant on consent (`limit` rows: the page and one more telling that a next page
 * exists) with, on each row, the rows its filters select consent aside, from after `after` through
 * the last served row, or to the end of the dataset on the last page: one statement, one snapshot.
 */
export function withSelectedCount (view: GrantView, where: RowFilter, page: RawBuilder<StoredRow>, after: string | undefined, limit: number): RawBuilder<StoredRow> {
  const selected = (through: RawBuilder<unknown> | null) => sql`(select count(*) from records
    where dataset_code = ${view.grant.dataset_code} and ${predicateOf(view, where, { consent: false })}
      ${after === undefined ? sql`` : sql`and record_key > ${after}`} ${through === null ? sql`` : sql`and record_key <= ${through}`})`
  return sql<StoredRow>`with page as materialized (${page})
    select page.*, case when (select count(*) from page) = ${limit}
      then ${selected(sql`(select record_key from page order by record_key offset ${limit - 2} limit 1)`)}
      else ${selected(null)} end as selected
    from page order by record_key`
}

/**
 * What consent left out of a page (0, with no query, for a grant that does not rest on consent):
 * `rows` are the fetched rows, up to `limit` served and one more telling that a next page exists;
 * the rows skipped among the served ones, or up to the end of the dataset on the last page. Read
 * from the rows of a `counted` fetch; an empty page asks the database.
 */
export async function pageConsentExcluded (db: Kysely<Database>, plan: ReadPlan, after: string | undefined, rows: readonly CountedRow[], limit: number): Promise<number> {
  if (plan.view.consent === null) return 0
  const more = rows.length > limit
  const selected = rows[0]?.selected !== undefined
    ? Number(rows[0].selected)
    : await countSelected(db, plan.view, plan.where.filter, { after, through: more ? rows[limit - 1]!.record_key : undefined })
  return Math.max(0, selected - (more ? limit : rows.length))
}

/** What consent left out of an export of `total` rows: every row its filters select whose person holds no valid consent. */
export async function exportConsentExcluded (db: Kysely<Database>, plan: ReadPlan, total: number): Promise<number> {
  if (plan.view.consent === null) return 0
  return Math.max(0, await countSelected(db, plan.view, plan.where.filter, {}) - total)
}

/** What the audit event of a read or an export under consent says of it: the purpose, and the rows consent left out. */
export function consentDetails (plan: ReadPlan, excluded: number): Record<string, unknown> {
  return plan.view.consent === null ? {} : { purposeCode: plan.grant.purpose_code, consentExcluded: excluded }
}

/**
 * Whether a consent of the grant's dataset and purpose was withdrawn, or lapsed, since `since` (an
 * export began): the export's file may then hold rows its persons no longer consent to serve.
 */
export async function consentLapsedSince (db: Kysely<Database>, grant: Pick<Grant, 'dataset_code' | 'purpose_code'>, since: Date): Promise<boolean> {
  if (grant.purpose_code === null) return false
  const { rows } = await sql<{ lapsed: boolean }>`
    select exists (select 1 from consents
      where dataset_code = ${grant.dataset_code} and purpose_code = ${grant.purpose_code}
        and (withdrawn_at >= ${since} or (expires_at >= ${since} and expires_at <= now()))) as lapsed`.execute(db)
  return rows[0]?.lapsed === true
}
