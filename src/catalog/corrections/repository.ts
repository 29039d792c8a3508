import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../../db/database.js'
import type { CorrectionStatus, NewRecordCorrection, RecordCorrection } from './table.js'

type Db = Kysely<Database> | Transaction<Database>

/** Corrections still waiting for the producer: to decide (open) or to make (accepted). */
export const WAITING: readonly CorrectionStatus[] = ['open', 'accepted']

export interface CorrectionFilter {
  dataset: string
  /** only the reports of this unit; undefined: every unit's */
  reporterUnit?: string
  status?: CorrectionStatus
  /** past their deadline and still waiting (true), or not (false), at `now` */
  overdue?: boolean
  now: Date
  beforeSeq?: string
  limit: number
}

export function createCorrectionRepository (db: Kysely<Database>) {
  return {
    async insert (values: NewRecordCorrection, trx: Db = db): Promise<RecordCorrection> {
      return await trx.insertInto('record_corrections').values(values).returningAll().executeTakeFirstOrThrow()
    },

    /** One correction of a dataset; locked for the caller's transaction when asked. */
    async find (dataset: string, id: string, trx: Db = db, { lock = false } = {}): Promise<RecordCorrection | undefined> {
      let q = trx.selectFrom('record_corrections').selectAll().where('id', '=', id).where('dataset_code', '=', dataset)
      if (lock) q = q.forUpdate()
      return await q.executeTakeFirst()
    },

    /** Newest first, through record_corrections_dataset_idx or, for one unit's reports, _reporter_idx. */
    async list (filter: CorrectionFilter): Promise<RecordCorrection[]> {
      let q = db.selectFrom('record_corrections').selectAll().where('dataset_code', '=', filter.dataset)
      if (filter.reporterUnit !== undefined) q = q.where('reporter_unit', '=', filter.reporterUnit)
      if (filter.status !== undefined) q = q.where('status', '=', filter.status)
      if (filter.overdue !== undefined) {
        const overdue = sql<boolean>`(status in ('open', 'accepted') and due_at < ${filter.now})`
        q = q.where(filter.overdue ? overdue : sql<boolean>`not ${overdue}`)
      }
      if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq)
      return await q.orderBy('seq', 'desc').limit(filter.limit).execute()
    },

    async decide (id: string, decision: { status: 'accepted' | 'rejected', reason: string, by: string }, trx: Db): Promise<RecordCorrection> {
      return await trx.updateTable('record_corrections')
        .set({ status: decision.status, decision_reason: decision.reason, decided_by: decision.by, decided_at: sql<Date>`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    },

    async resolve (id: string, resolution: { batch: string, by: string }, trx: Db): Promise<RecordCorrection> {
      return await trx.updateTable('record_corrections')
        .set({ status: 'corrected', resolved_by_batch: resolution.batch, resolved_by: resolution.by, resolved_at: sql<Date>`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    },

    /**
     * Marks the waiting corrections past their deadline at `now` that were not reported yet, and
     * returns them with their dataset's producer unit. The update claims them: several instances
     * never report one twice.
     */
    async takeNewlyOverdue (now: Date, trx: Db = db): Promise<(RecordCorrection & { producer_unit: string })[]> {
      const { rows } = await sql<RecordCorrection & { producer_unit: string }>`
        update record_corrections c set overdue_reported_at = ${now}
          from datasets d
         where d.code = c.dataset_code and c.status in ('open', 'accepted') and c.due_at < ${now} and c.overdue_reported_at is null
        returning c.*, d.producer_unit`.execute(trx)
      return rows
    }
  }
}
export type CorrectionRepository = ReturnType<typeof createCorrectionRepository>
