import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { recordEvent } from '../../platform/events.js'
import { createCorrectionRepository } from './repository.js'

/**
 * Reports each correction still open or accepted past its deadline, once (001 §64(3): data not
 * corrected in time is itself a violation): a `correction.overdue` event traced to the producer unit
 * that must act, which the audit service turns into a `correction_overdue` alert. The update that
 * marks a correction reported also claims it, so several instances never report one twice.
 */
export async function reportOverdueCorrections (db: Kysely<Database>, now = new Date()): Promise<string[]> {
  return await db.transaction().execute(async (trx) => {
    const overdue = await createCorrectionRepository(db).takeNewlyOverdue(now, trx)
    for (const c of overdue) {
      await recordEvent(trx, {
        service: 'catalog',
        action: 'correction.overdue',
        actor: { sub: 'system:deadlines', unit: c.producer_unit, roles: [] },
        objectType: 'correction',
        objectId: c.id,
        dataset: c.dataset_code,
        details: { status: c.status, field: c.field, dueAt: new Date(c.due_at).toISOString(), reporterUnit: c.reporter_unit }
      })
    }
    return overdue.map((c) => c.id)
  })
}
