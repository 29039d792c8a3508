import type { Consent } from '../../db/database.js'
import type { CONSENT_STATUSES, ConsentView } from './schemas.js'

/** The status a consent has now: an active consent past its expiry has expired; withdrawn stays withdrawn. */
export function effectiveStatus (c: Pick<Consent, 'status' | 'expires_at'>, now = new Date()): typeof CONSENT_STATUSES[number] {
  if (c.status === 'withdrawn') return 'withdrawn'
  return c.expires_at !== null && c.expires_at.getTime() <= now.getTime() ? 'expired' : 'active'
}

/** The API shape of a consent. */
export function toConsentView (c: Consent, now = new Date()): ConsentView {
  return {
    id: c.id,
    unit: c.unit_code,
    person: c.person_key,
    dataset: c.dataset_code,
    purposeCode: c.purpose_code,
    purpose: c.purpose,
    kind: c.kind,
    evidence: c.evidence,
    givenAt: c.given_at.toISOString(),
    expiresAt: c.expires_at?.toISOString() ?? null,
    status: effectiveStatus(c, now),
    withdrawnAt: c.withdrawn_at?.toISOString() ?? null,
    withdrawalReason: c.withdrawal_reason,
    recordedBy: c.recorded_by,
    createdAt: c.created_at.toISOString()
  }
}
