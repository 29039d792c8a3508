import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database, Grant, GrantStatus, NewGrant } from '../../db/database.js'
import { CAMPUS_TODAY, campusToday } from '../../platform/calendar.js'
import type { UnitScope } from '../visibility.js'

type Db = Kysely<Database> | Transaction<Database>

/** The status a grant has today: a live grant past its end date has expired. */
export function effectiveStatus (grant: Pick<Grant, 'status' | 'valid_until'>, today = campusToday()): GrantStatus | 'expired' {
  return grant.status !== 'revoked' && grant.valid_until < today ? 'expired' : grant.status
}

export interface GrantFilter {
  limit: number
  beforeSeq?: string
  dataset?: string
  status?: GrantStatus | 'expired'
  consumerUnit?: string
  subject?: string
}

export function createGrantRepository (db: Kysely<Database>) {
  return {
    async insert (values: NewGrant, trx: Db = db): Promise<Grant> {
      return await trx.insertInto('grants').values(values).returningAll().executeTakeFirstOrThrow()
    },

    async find (id: string, trx: Db = db, { lock = false } = {}): Promise<Grant | undefined> {
      let q = trx.selectFrom('grants').selectAll().where('id', '=', id)
      if (lock) q = q.forUpdate()
      return await q.executeTakeFirst()
    },

    async list (scope: UnitScope, filter: GrantFilter): Promise<Grant[]> {
      let q = db.selectFrom('grants').selectAll()
      if (!('all' in scope)) {
        const { consumer, producer } = scope
        q = q.where((eb) => eb.or([eb('consumer_unit', '=', consumer), ...(producer === null ? [] : [eb('producer_unit', '=', producer)])]))
      }
      if (filter.dataset !== undefined) q = q.where('dataset_code', '=', filter.dataset)
      if (filter.consumerUnit !== undefined) q = q.where('consumer_unit', '=', filter.consumerUnit)
      if (filter.subject !== undefined) q = q.where('subject', '=', filter.subject)
      if (filter.status === 'expired') {
        q = q.where('status', '<>', 'revoked').where('valid_until', '<', CAMPUS_TODAY)
      } else if (filter.status !== undefined) {
        q = q.where('status', '=', filter.status)
        if (filter.status !== 'revoked') q = q.where('valid_until', '>=', CAMPUS_TODAY)
      }
      if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq)
      return await q.orderBy('seq', 'desc').limit(filter.limit).execute()
    },

    async setStatus (id: string, status: GrantStatus, reason: string, by: string, trx: Db): Promise<Grant> {
      return await trx.updateTable('grants')
        .set({ status, status_reason: reason, status_changed_by: by, status_changed_at: sql`now()`, updated_at: sql`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    }
  }
}
export type GrantRepository = ReturnType<typeof createGrantRepository>
