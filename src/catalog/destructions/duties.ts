import type { Destruction, DestructionReview } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { DestructionForbiddenError } from './errors.js'

/** The five parts of a destruction; one person holds at most one of them (R1.2, R10.2, 001 §30). */
export type DestructionPart = 'proposer' | 'producer reviewer' | 'office reviewer' | 'witness' | 'executor'

/** The parts `sub` already holds in a destruction, in the order they are taken. */
export function partsHeld (d: Destruction, reviews: readonly DestructionReview[], sub: string): DestructionPart[] {
  const held: DestructionPart[] = []
  if (d.proposed_by === sub) held.push('proposer')
  for (const r of reviews) if (r.reviewer_sub === sub) held.push(`${r.party} reviewer`)
  if (d.witness_sub === sub) held.push('witness')
  if (d.executed_by === sub) held.push('executor')
  return held
}

/**
 * Refuses (403, audited as every refusal is) a caller who already holds another part of this
 * destruction, whatever roles the token carries: the detail names both parts.
 */
export function checkDuties (d: Destruction, reviews: readonly DestructionReview[], actor: Principal, part: DestructionPart): void {
  const other = partsHeld(d, reviews, actor.sub).find((p) => p !== part)
  if (other === undefined) return
  throw new DestructionForbiddenError(
    `separation of duties: ${actor.sub} is the ${other} of this destruction and may not also be its ${part}; one person holds one part of a destruction`
  )
}
