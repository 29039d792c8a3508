import { perEventRule } from './per-event.js'

/**
 * A share request's review passed its deadline (R7.8), reported by the authorization service; the
 * event's unit is the one that must review.
 */
export const overdueReview = perEventRule({
  name: 'overdue_review',
  operation: 'share_request.review_overdue',
  description: 'a share request\'s review passed its deadline (actor: the unit that must review)',
  summary: 'each share request review past its deadline (overdue_review)'
})
