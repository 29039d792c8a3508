import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database, NewOpenRequest, OpenRequest, OpenRequestReview, OpenRequestStatus } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'

type Db = Kysely<Database> | Transaction<Database>

/** Which requests a caller sees: the office and auditors every one; a steward those on its unit's datasets. */
export function openRequestScope (principal: Principal): { all: true } | { producer: string } {
  if (principal.roles.includes('security_admin') || principal.roles.includes('auditor')) return { all: true }
  return { producer: principal.unit }
}

export function inScope (scope: ReturnType<typeof openRequestScope>, row: OpenRequest): boolean {
  return 'all' in scope || row.producer_unit === scope.producer
}

export interface OpenRequestFilter {
  limit: number
  beforeSeq?: string
  status?: OpenRequestStatus
  dataset?: string
}

export interface DecisionValues {
  decision: 'approve' | 'reject'
  reason: string | null
  conditions: string | null
  validUntil: string | null
  reviewer: { sub: string, unit: string }
}

export function createOpenRequestRepository (db: Kysely<Database>) {
  return {
    async insert (values: NewOpenRequest, trx: Db = db): Promise<OpenRequest> {
      return await trx.insertInto('open_requests').values(values).returningAll().executeTakeFirstOrThrow()
    },

    /** One request; `lock` takes its row lock, so that concurrent reviews of it queue. */
    async find (id: string, trx: Db = db, { lock = false } = {}): Promise<OpenRequest | null> {
      let query = trx.selectFrom('open_requests').selectAll().where('id', '=', id)
      if (lock) query = query.forUpdate()
      return await query.executeTakeFirst() ?? null
    },

    async list (scope: ReturnType<typeof openRequestScope>, filter: OpenRequestFilter, trx: Db = db): Promise<OpenRequest[]> {
      let query = trx.selectFrom('open_requests').selectAll().orderBy('seq', 'desc').limit(filter.limit)
      if (!('all' in scope)) query = query.where('producer_unit', '=', scope.producer)
      if (filter.status !== undefined) query = query.where('status', '=', filter.status)
      if (filter.dataset !== undefined) query = query.where('dataset_code', '=', filter.dataset)
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq)
      return await query.execute()
    },

    async reviewsOf (ids: readonly string[], trx: Db = db): Promise<OpenRequestReview[]> {
      if (ids.length === 0) return []
      return await trx.selectFrom('open_request_reviews').selectAll().where('open_request_id', 'in', ids).execute()
    },

    /** Records the office's decision and sets the request's status to match. */
    async decide (id: string, values: DecisionValues, trx: Db): Promise<{ request: OpenRequest, review: OpenRequestReview }> {
      const review = await trx.insertInto('open_request_reviews').values({
        open_request_id: id,
        decision: values.decision,
        reason: values.reason,
        conditions: values.conditions,
        valid_until: values.validUntil,
        reviewer_sub: values.reviewer.sub,
        reviewer_unit: values.reviewer.unit
      }).returningAll().executeTakeFirstOrThrow()
      const request = await trx.updateTable('open_requests')
        .set({ status: values.decision === 'approve' ? 'approved' : 'rejected', updated_at: sql`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
      return { request, review }
    }
  }
}

export type OpenRequestRepository = ReturnType<typeof createOpenRequestRepository>
