import type { OpenReview, OpenReviewRound } from '../../db/database.js'
import { awaitedLevel, LEVELS } from './levels.js'
import type { OpenState } from './open-state.js'
import type { RoundView } from './schemas.js'

type ReviewView = RoundView['reviews'][number]

export function toReviewView (row: OpenReview): ReviewView {
  return {
    level: row.level,
    role: LEVELS[row.level].role,
    decision: row.decision,
    reason: row.reason,
    reviewer: row.reviewer_sub,
    reviewerUnit: row.reviewer_unit,
    reviewedAt: row.reviewed_at.toISOString()
  }
}

/** The API shape of a round, with its reviews (of any rounds: those of this one are picked). */
export function toRoundView (row: OpenReviewRound, reviews: readonly OpenReview[]): RoundView {
  const own = reviews.filter((r) => r.round_id === row.id)
  const awaiting = row.status === 'in_review' ? awaitedLevel(own) : null
  return {
    round: row.round,
    status: row.status,
    awaiting: awaiting === null ? null : { level: awaiting, role: LEVELS[awaiting].role },
    reviews: own.map(toReviewView),
    startedBy: row.started_by,
    startedAt: row.started_at.toISOString(),
    closedAt: row.closed_at?.toISOString() ?? null,
    approvedOpenAttribute: row.approved_open_attribute
  }
}

export function toStateView (state: OpenState) {
  return { open: state.open, round: state.round, since: state.since?.toISOString() ?? null, reason: state.reason }
}
