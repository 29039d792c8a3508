import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { createDestructionRepository } from '../destructions/repository.js'
import { destructionEvent } from '../destructions/workflow.js'
import { retentionCutoff } from '../quality/report.js'
import { createQualityRepository } from '../quality/repository.js'

/** The proposer of the destructions the sweep opens. */
export const RETENTION_ACTOR = 'system:retention'
/**
 * The advisory lock of the sweep ("dg" "rt" in ASCII): one catalog instance sweeps at a time; the
 * others find it taken and skip their turn.
 */
export const RETENTION_LOCK = 0x6467_7274
const PAGE = 500

export interface SweepResult {
  /** false when another instance held the lock: this one did nothing */
  ran: boolean
  /** the proposals opened, by dataset */
  opened: { dataset: string, destruction: string, rows: number }[]
}

/**
 * Finds every dataset holding records past its retention period (R5.2: first stored before now −
 * `retentionDays`, the notion of the retention report) and opens one `expired` destruction proposal
 * for each that has none open, proposed by `system:retention`. One transaction under a
 * transaction-scoped advisory lock, so that several instances never sweep at once; the partial
 * unique index on open `expired` proposals makes a second proposal impossible even so.
 */
export async function sweepRetention (db: Kysely<Database>, { now = new Date() }: { now?: Date } = {}): Promise<SweepResult> {
  return await db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${RETENTION_LOCK}::bigint) as locked`.execute(trx)
    if (!rows[0]!.locked) return { ran: false, opened: [] }
    const quality = createQualityRepository(db)
    const destructions = createDestructionRepository(db)
    const opened: SweepResult['opened'] = []
    let after: string | undefined
    for (;;) {
      const page = await quality.expired(now, { limit: PAGE, ...(after !== undefined ? { after } : {}) }, trx)
      for (const d of page) {
        const cutoff = retentionCutoff(now, d.retentionDays)
        const reason = `${d.expiredRows} records past the retention period of ${d.retentionDays} days (R5.2): first stored before ${cutoff.toISOString()}`
        const row = await destructions.insertExpiredUnlessOpen({
          dataset_code: d.code,
          producer_unit: d.producerUnit,
          scope: 'expired',
          row_filter: null,
          cutoff,
          reason,
          rows_in_scope: d.expiredRows,
          proposed_by: RETENTION_ACTOR,
          proposed_unit: d.producerUnit,
          proposed_client: null
        }, trx)
        if (!row) continue
        // the unit that must act on it is the producer's
        await destructionEvent(trx, { actor: { sub: RETENTION_ACTOR, unit: d.producerUnit, roles: [] }, requestId: null }, 'destruction.create', row, {
          scope: 'expired', filter: null, cutoff: cutoff.toISOString(), rowsInScope: d.expiredRows, reason, status: row.status
        })
        opened.push({ dataset: d.code, destruction: row.id, rows: d.expiredRows })
      }
      if (page.length < PAGE) break
      after = page[page.length - 1]!.code
    }
    return { ran: true, opened }
  })
}
