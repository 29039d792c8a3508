import type { Dataset, OpenReviewRound } from '../../db/database.js'

/** Whether a dataset is in the open catalog now, by which round and since when, or why not. */
export interface OpenState {
  open: boolean
  /** the approved round it is open by; when not open, the last round that closed (if any) */
  round: number | null
  /** when the leading group approved that round */
  since: Date | null
  /** why it is not open; null when it is */
  reason: string | null
}

/** A grade version recorded after the approval: what its open attribute became. */
export interface LaterVersion { version: number, open_attribute: string }

const OPENNESS: Record<string, number> = { none: 0, conditional: 1, unconditional: 2 }

/**
 * The open catalog is computed from the state, never stored: a dataset is in it while it is
 * published, its open attribute is not `none`, its latest closed review round was approved by the
 * leading group, and since that approval its open attribute has neither been `none` (the approval
 * lapses for good: a new round is needed) nor been widened beyond what was approved (conditional →
 * unconditional). A rejected later round takes it out; a round still under review does not.
 */
export function judgeOpen (dataset: Dataset, lastClosed: OpenReviewRound | null, later: readonly LaterVersion[]): OpenState {
  const closed = (reason: string): OpenState => ({
    open: false,
    round: lastClosed?.round ?? null,
    since: null,
    reason
  })
  if (dataset.status !== 'published') return closed(`the dataset is ${dataset.status}`)
  if (dataset.open_attribute === 'none') return closed('the open attribute is none (不予开放)')
  if (lastClosed === null) return closed('no review round has been approved by the leading group yet')
  if (lastClosed.status === 'rejected') return closed(`review round ${lastClosed.round} was rejected`)
  const approved = lastClosed.approved_open_attribute ?? 'none'
  const since = lastClosed.approved_grade_version ?? 0
  const versions = [...later.filter((v) => v.version > since), { version: dataset.grade_version, open_attribute: dataset.open_attribute }]
  const shut = versions.find((v) => v.open_attribute === 'none')
  if (shut) return closed(`the open attribute was set to none after round ${lastClosed.round} was approved; a new review round is needed`)
  const widened = versions.find((v) => (OPENNESS[v.open_attribute] ?? 0) > (OPENNESS[approved] ?? 0))
  if (widened) return closed(`the open attribute was widened to ${widened.open_attribute} after round ${lastClosed.round} approved ${approved}; a new review round is needed`)
  return { open: true, round: lastClosed.round, since: lastClosed.closed_at, reason: null }
}
