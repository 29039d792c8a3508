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
  /** due for re-certification (true) or not (false), a period having started at or before `recertifyCutoff` */
  recertificationDue?: boolean
  recertifyCutoff?: Date
}

/** The start of a grant's current re-certification period: its last confirmation, else its creation. */
const PERIOD_START = sql<Date>`coalesce(recertified_at, created_at)`

/** What narrowing may change (already checked to narrow only). */
export interface GrantNarrowing {
  fields?: string[]
  row_filter?: Record<string, unknown>
  daily_row_quota?: number
  valid_until?: string
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
      if (filter.recertificationDue !== undefined && filter.recertifyCutoff !== undefined) {
        const due = sql<boolean>`(status <> 'revoked' and valid_until >= ${CAMPUS_TODAY} and ${PERIOD_START} <= ${filter.recertifyCutoff})`
        q = q.where(filter.recertificationDue ? due : sql<boolean>`not ${due}`)
      }
      if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq)
      return await q.orderBy('seq', 'desc').limit(filter.limit).execute()
    },

    async setStatus (id: string, status: GrantStatus, reason: string, by: string, trx: Db): Promise<Grant> {
      return await trx.updateTable('grants')
        .set({ status, status_reason: reason, status_changed_by: by, status_changed_at: sql`now()`, updated_at: sql`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    },

    async narrow (id: string, changes: GrantNarrowing, trx: Db): Promise<Grant> {
      const { row_filter: filter, ...rest } = changes
      return await trx.updateTable('grants')
        .set({ ...rest, ...(filter !== undefined ? { row_filter: JSON.stringify(filter) } : {}), updated_at: sql`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    },

    /** Records a re-certification decision: a new period starts, not yet reported. */
    async recertify (id: string, decision: 'keep' | 'revoke', reason: string, by: string, trx: Db): Promise<Grant> {
      return await trx.updateTable('grants')
        .set({
          recertified_at: sql`now()`,
          recertified_by: by,
          recertification_decision: decision,
          recertification_reason: reason,
          recertification_reported_at: null,
          updated_at: sql`now()`
        })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    },

    /** Live grants whose period started at or before `cutoff` and were not reported yet; marks them reported (claims them). */
    async takeNewlyDue (cutoff: Date, today: string, now: Date, trx: Db): Promise<Grant[]> {
      // looked up first: an update of no rows would still move the grants version (a statement
      // trigger) and drop every gateway's cache at each sweep
      const ids = await trx.selectFrom('grants').select('id')
        .where('status', '<>', 'revoked').where('valid_until', '>=', today)
        .where(PERIOD_START, '<=', cutoff)
        .where('recertification_reported_at', 'is', null)
        .orderBy('seq').limit(1000).forUpdate().skipLocked().execute()
      if (ids.length === 0) return []
      return await trx.updateTable('grants').set({ recertification_reported_at: now })
        .where('id', 'in', ids.map((r) => r.id)).returningAll().execute()
    },

    /** Active grants whose period started at or before `cutoff`, locked: the grace has run out. */
    async unconfirmedPastGrace (cutoff: Date, today: string, trx: Db): Promise<Grant[]> {
      return await trx.selectFrom('grants').selectAll()
        .where('status', '=', 'active').where('valid_until', '>=', today)
        .where(PERIOD_START, '<=', cutoff)
        .orderBy('seq').limit(1000).forUpdate().skipLocked().execute()
    }
  }
}
export type GrantRepository = ReturnType<typeof createGrantRepository>
