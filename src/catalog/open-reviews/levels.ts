import type { Dataset, OpenReview, OpenReviewLevel } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { NotOpenableError, OpenReviewForbiddenError, OpenReviewOrderError, OpenReviewRepeatedError } from './errors.js'

/**
 * The three-level confidentiality review before anything is published (信息披露三级审核, 001 §46):
 * the producer unit, which authorises the publication of its own data (001 §9(3)); the
 * data-management office; and last the leading group, which must review whatever goes outside
 * (001 §58).
 */
export const LEVELS = {
  1: { role: 'steward', who: 'the producer unit\'s steward' },
  2: { role: 'security_admin', who: 'the data-management office (security_admin)' },
  3: { role: 'leadership', who: 'the leading group (leadership)' }
} as const satisfies Record<OpenReviewLevel, { role: string, who: string }>

export type LevelRole = typeof LEVELS[OpenReviewLevel]['role']

/** The levels a caller may review this dataset at, lowest first. */
export function levelsOf (principal: Principal, dataset: Dataset): OpenReviewLevel[] {
  const levels: OpenReviewLevel[] = []
  if (principal.roles.includes('steward') && principal.unit === dataset.producer_unit) levels.push(1)
  if (principal.roles.includes('security_admin')) levels.push(2)
  if (principal.roles.includes('leadership')) levels.push(3)
  return levels
}

/** Only a published dataset whose open attribute allows opening enters the open catalog. */
export function checkOpenable (dataset: Dataset): void {
  if (dataset.status !== 'published') {
    throw new NotOpenableError(`dataset ${dataset.code} is ${dataset.status}: only a published dataset can be reviewed for the open catalog`)
  }
  if (dataset.open_attribute === 'none') {
    throw new NotOpenableError(`dataset ${dataset.code} is not open (open attribute none, 不予开放): the office must make it ` +
      'unconditional or conditional open before it can be reviewed for the open catalog')
  }
}

/** The level a round under review waits for: 1 when none is under review. */
export function awaitedLevel (reviews: readonly OpenReview[] | null): OpenReviewLevel {
  if (reviews === null) return 1
  return Math.min(3, Math.max(0, ...reviews.map((r) => r.level)) + 1) as OpenReviewLevel
}

/** A caller holding no level for this dataset (a steward of another unit) is refused. */
export function checkReviewer (held: readonly OpenReviewLevel[], dataset: Dataset): void {
  if (held.length > 0) return
  throw new OpenReviewForbiddenError(`only a steward of the producer unit ${dataset.producer_unit} reviews ${dataset.code} at level 1; ` +
    'level 2 is the office\'s (security_admin) and level 3 the leading group\'s (leadership)')
}

/**
 * The level the caller reviews at now: the awaited one when it holds it. Otherwise a higher level
 * is out of order (409 naming the level still missing) and a lower one has already reviewed.
 */
export function chooseLevel (held: readonly OpenReviewLevel[], awaited: OpenReviewLevel, round: number | null): OpenReviewLevel {
  if (held.includes(awaited)) return awaited
  const missing = `level ${awaited}, ${LEVELS[awaited].who}`
  if (held.some((l) => l > awaited)) {
    throw new OpenReviewOrderError(`${round === null ? 'no review round is open' : `round ${round}`}: ${missing}, has not approved yet; ` +
      'the levels review in order')
  }
  const mine = held[held.length - 1]!
  throw new OpenReviewRepeatedError(`level ${mine} has already approved round ${round}; it now waits for ${missing}`)
}

/** One person reviews at most one level of a round (separation of duties). */
export function checkDistinctReviewer (principal: Principal, reviews: readonly OpenReview[]): void {
  const earlier = reviews.find((r) => r.reviewer_sub === principal.sub)
  if (earlier) {
    throw new OpenReviewForbiddenError(`${principal.sub} already reviewed this round at level ${earlier.level}; ` +
      'each level is reviewed by a different person')
  }
}
