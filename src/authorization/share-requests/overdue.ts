import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { recordEvent } from '../../platform/events.js'
import { createShareRequestRepository } from './repository.js'
import { reviewersOf } from './review-workflow.js'

/**
 * Reports each share request whose review is past its deadline, once (R7.8: failing to review in
 * time is itself a violation): a `share_request.review_overdue` event naming the reviewers still
 * missing, which the audit service turns into an alert. The update that marks a request reported
 * also claims it, so several instances never report one twice.
 */
export async function reportOverdueReviews (db: Kysely<Database>): Promise<string[]> {
  return await db.transaction().execute(async (trx) => {
    const overdue = await createShareRequestRepository(trx).takeNewlyOverdue(trx)
    if (overdue.length === 0) return []
    const reviews = await createShareRequestRepository(trx).reviewsOf(overdue.map((r) => r.id), trx)
    for (const r of overdue) {
      const missing = reviewersOf(r.workflow).filter((p) => !reviews.some((v) => v.share_request_id === r.id && v.party === p))
      await recordEvent(trx, {
        service: 'authorization',
        action: 'share_request.review_overdue',
        // who must act: the producer while its review is missing, else the office, else the leading group
        actor: { sub: 'system:deadlines', unit: missing.includes('producer') ? r.producer_unit : missing.includes('office') ? 'office' : 'leadership', roles: [] },
        objectType: 'share_request',
        objectId: r.id,
        dataset: r.dataset_code,
        details: { awaiting: missing, reviewDueAt: r.review_due_at?.toISOString() ?? null, consumerUnit: r.consumer_unit }
      })
    }
    return overdue.map((r) => r.id)
  })
}
