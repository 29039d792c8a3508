import type { Destruction, DestructionCertificateRow, DestructionReview } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import type { Role } from '../../platform/auth/roles.js'
import type { Static } from 'typebox'
import type { DestructionSchema } from './schemas.js'

/** Roles that see every unit's destructions: the office, auditors and the destruction supervisors. */
export const CROSS_UNIT: readonly Role[] = ['security_admin', 'auditor', 'supervisor']

/** The cross-unit roles see every destruction; a unit's stewards those of their unit's datasets. Others get 404. */
export function canSeeDestruction (principal: Principal, row: Pick<Destruction, 'producer_unit'>): boolean {
  return principal.roles.some((r) => CROSS_UNIT.includes(r)) || (principal.roles.includes('steward') && principal.unit === row.producer_unit)
}

/** The unit whose destructions a caller's lists are limited to, or null for all. */
export function listScope (principal: Principal): string | null {
  return principal.roles.some((r) => CROSS_UNIT.includes(r)) ? null : principal.unit
}

type CertificateDigest = Pick<DestructionCertificateRow, 'id' | 'destruction_id' | 'digest_sha256' | 'digest_sm3'>

export function toDestructionView (d: Destruction, reviews: readonly DestructionReview[], certificate?: CertificateDigest): Static<typeof DestructionSchema> {
  return {
    id: d.id,
    dataset: d.dataset_code,
    producerUnit: d.producer_unit,
    scope: d.scope,
    filter: d.row_filter,
    cutoff: d.cutoff?.toISOString() ?? null,
    reason: d.reason,
    rowsInScope: d.rows_in_scope,
    status: d.status,
    decisionReason: d.decision_reason,
    proposedBy: { sub: d.proposed_by, unit: d.proposed_unit },
    proposedAt: d.proposed_at.toISOString(),
    reviews: reviews.filter((r) => r.destruction_id === d.id).map((r) => ({
      party: r.party, decision: r.decision, reason: r.reason, sub: r.reviewer_sub, unit: r.reviewer_unit, at: r.reviewed_at.toISOString()
    })),
    witness: d.witness_sub === null
      ? null
      : { sub: d.witness_sub, unit: d.witness_unit!, note: d.witness_note, at: d.witnessed_at!.toISOString() },
    executor: d.executed_by === null
      ? null
      : { sub: d.executed_by, unit: d.executed_unit!, at: d.executed_at!.toISOString() },
    certificate: certificate ? { id: certificate.id, digest: { sha256: certificate.digest_sha256, sm3: certificate.digest_sm3 } } : null
  }
}
