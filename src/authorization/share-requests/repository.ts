import { sql, type Kysely, type Transaction } from 'kysely'
import type {
  Database, Grant, NewShareRequest, ReviewParty, ShareRequest, ShareRequestReview, ShareRequestUpdate, StoredField
} from '../../db/database.js'
import { CAMPUS_TODAY } from '../../platform/calendar.js'
import { rowFilterSql, type BlindLookup, type RowFilter } from '../../platform/row-filter.js'
import type { UnitScope } from '../visibility.js'

type Db = Kysely<Database> | Transaction<Database>

export interface RequestLinks {
  agreement: string | null
  agreementSigned: boolean
  grant: string | null
}

export interface ShareRequestFilter {
  limit: number
  beforeSeq?: string
  status?: ShareRequest['status']
  dataset?: string
  consumerUnit?: string
  producerUnit?: string
  overdue?: boolean
  external?: boolean
  /** the caller is the leading group: requests that provide data outside the university are its to see too */
  leadership?: boolean
}

export function createShareRequestRepository (db: Kysely<Database>) {
  return {
    async insert (values: NewShareRequest, trx: Db = db): Promise<ShareRequest> {
      return await trx.insertInto('share_requests').values(values).returningAll().executeTakeFirstOrThrow()
    },

    /** One request; `lock` takes its row lock, so that concurrent reviews of it queue. */
    async find (id: string, trx: Db = db, { lock = false } = {}): Promise<ShareRequest | undefined> {
      let q = trx.selectFrom('share_requests').selectAll().where('id', '=', id)
      if (lock) q = q.forUpdate()
      return await q.executeTakeFirst()
    },

    async update (id: string, changes: ShareRequestUpdate, trx: Db = db): Promise<ShareRequest> {
      return await trx.updateTable('share_requests').set({ ...changes, updated_at: sql`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    },

    async list (scope: UnitScope, filter: ShareRequestFilter): Promise<ShareRequest[]> {
      let q = db.selectFrom('share_requests').selectAll()
      if (!('all' in scope)) {
        const { consumer, producer } = scope
        q = q.where((eb) => {
          const mine = [eb('consumer_unit', '=', consumer)]
          if (producer !== null) mine.push(eb('producer_unit', '=', producer))
          if (filter.leadership === true) mine.push(eb('external', '=', true))
          return eb.or(mine)
        })
      }
      if (filter.consumerUnit !== undefined) q = q.where('consumer_unit', '=', filter.consumerUnit)
      if (filter.producerUnit !== undefined) q = q.where('producer_unit', '=', filter.producerUnit)
      if (filter.status !== undefined) q = q.where('status', '=', filter.status)
      if (filter.dataset !== undefined) q = q.where('dataset_code', '=', filter.dataset)
      if (filter.external !== undefined) q = q.where('external', '=', filter.external)
      if (filter.overdue === true) q = q.where('status', '=', 'pending_review').where('review_due_at', '<', sql<Date>`now()`)
      if (filter.overdue === false) q = q.where((eb) => eb.or([eb('review_due_at', 'is', null), eb('review_due_at', '>=', sql<Date>`now()`), eb('status', '<>', 'pending_review')]))
      if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq)
      return await q.orderBy('seq', 'desc').limit(filter.limit).execute()
    },

    async reviewsOf (ids: readonly string[], trx: Db = db): Promise<ShareRequestReview[]> {
      if (ids.length === 0) return []
      return await trx.selectFrom('share_request_reviews').selectAll()
        .where('share_request_id', 'in', ids).orderBy('reviewed_at').orderBy('id').execute()
    },

    async addReview (review: {
      requestId: string,
      party: ReviewParty,
      decision: 'approve' | 'reject',
      reason: string | null,
      reviewer: { sub: string, unit: string },
      details?: Record<string, unknown>
    }, trx: Db): Promise<void> {
      await trx.insertInto('share_request_reviews').values({
        share_request_id: review.requestId,
        party: review.party,
        decision: review.decision,
        reason: review.reason,
        reviewer_sub: review.reviewer.sub,
        reviewer_unit: review.reviewer.unit,
        details: JSON.stringify(review.details ?? {})
      }).execute()
    },

    /** The agreement and grant ids of requests, for their views. */
    async linksOf (ids: readonly string[], trx: Db = db): Promise<Map<string, RequestLinks>> {
      const links = new Map(ids.map((id): [string, RequestLinks] => [id, { agreement: null, agreementSigned: false, grant: null }]))
      if (ids.length === 0) return links
      const [agreements, grants] = await Promise.all([
        trx.selectFrom('agreements').select(['id', 'share_request_id', 'status']).where('share_request_id', 'in', ids).where('status', '<>', 'void').execute(),
        trx.selectFrom('grants').select(['id', 'share_request_id']).where('share_request_id', 'in', ids).execute()
      ])
      for (const a of agreements) Object.assign(links.get(a.share_request_id)!, { agreement: a.id, agreementSigned: a.status === 'signed' })
      for (const g of grants) links.get(g.share_request_id)!.grant = g.id
      return links
    },

    /** Distinct persons among the dataset's records that the filter selects (R9.4 thresholds). */
    async personCount (dataset: string, filter: RowFilter, fields: readonly StoredField[], blind: BlindLookup | null, trx: Db = db): Promise<number> {
      const row = await trx.selectFrom('records')
        .select(sql<string>`count(distinct person_key)`.as('persons'))
        .where('dataset_code', '=', dataset)
        .where('person_key', 'is not', null)
        .where(rowFilterSql(filter, fields, blind))
        .executeTakeFirstOrThrow()
      return Number(row.persons)
    },

    /** Pending requests past their deadline not yet reported; marks them reported. */
    async takeNewlyOverdue (trx: Db = db): Promise<ShareRequest[]> {
      return await trx.updateTable('share_requests').set({ overdue_reported_at: sql`now()` })
        .where('status', '=', 'pending_review')
        .where('review_due_at', '<', sql<Date>`now()`)
        .where('overdue_reported_at', 'is', null)
        .returningAll().execute()
    },

    /** The request renewing a grant that is under way or granted (one at a time), if any. */
    async renewalOf (grantId: string, trx: Db = db): Promise<ShareRequest | undefined> {
      return await trx.selectFrom('share_requests').selectAll()
        .where('renews', '=', grantId).where('status', 'in', ['pending_review', 'approved', 'active'])
        .executeTakeFirst()
    },

    /**
     * Ends a renewed grant on `lastDay` (the day before its renewal starts), naming why; a grant whose
     * last day is already past is then expired. Kept here, beside the renewal it serves.
     */
    async endRenewedGrant (grantId: string, lastDay: string, reason: string, by: string, trx: Db): Promise<Grant> {
      return await trx.updateTable('grants')
        .set({ valid_until: lastDay, status_reason: reason, status_changed_by: by, status_changed_at: sql`now()`, updated_at: sql`now()` })
        .where('id', '=', grantId).returningAll().executeTakeFirstOrThrow()
    },

    /** Whether a unit holds a live grant on the dataset or has a request for it in review (R2.8). */
    async unitHasInterest (dataset: string, unit: string): Promise<boolean> {
      const row = await db.selectFrom('share_requests')
        .leftJoin('grants', 'grants.share_request_id', 'share_requests.id')
        .select('share_requests.id')
        .where('share_requests.dataset_code', '=', dataset).where('share_requests.consumer_unit', '=', unit)
        .where((eb) => eb.or([
          eb('share_requests.status', 'in', ['pending_review', 'approved']),
          eb.and([eb('grants.status', 'in', ['active', 'suspended']), eb('grants.valid_until', '>=', CAMPUS_TODAY)])
        ]))
        .limit(1).executeTakeFirst()
      return row !== undefined
    }
  }
}
export type ShareRequestRepository = ReturnType<typeof createShareRequestRepository>
