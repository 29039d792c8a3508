import type { ShareRequest, ShareRequestReview } from '../../db/database.js'
import type { RequestLinks } from './repository.js'
import { awaitingOf } from './review-workflow.js'
import type { ShareRequestView } from './schemas.js'

/** The API shape of a share request, with its reviews and what it still awaits. */
export function toShareRequestView (r: ShareRequest, reviews: readonly ShareRequestReview[], links: RequestLinks, now = Date.now()): ShareRequestView {
  const own = reviews.filter((v) => v.share_request_id === r.id)
  return {
    id: r.id,
    dataset: r.dataset_code,
    producerUnit: r.producer_unit,
    consumerUnit: r.consumer_unit,
    subject: r.subject,
    requestedBy: r.requested_by,
    fields: r.fields,
    rowFilter: r.row_filter,
    purpose: r.purpose,
    legalBasis: r.legal_basis,
    accessModes: r.access_modes,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    dailyRowQuota: r.daily_row_quota,
    thirdParty: r.third_party,
    thirdPartyName: r.third_party_name,
    external: r.external,
    recipient: r.recipient_name === null ? null : { name: r.recipient_name, kind: r.recipient_kind ?? 'other' },
    renews: r.renews,
    consentBased: r.consent_based,
    purposeCode: r.purpose_code,
    status: r.status,
    decisionReason: r.decision_reason,
    workflow: r.workflow,
    awaiting: awaitingOf(r, own, links.agreementSigned),
    reviewDueAt: r.review_due_at?.toISOString() ?? null,
    overdue: r.status === 'pending_review' && r.review_due_at !== null && r.review_due_at.getTime() < now,
    masked: r.masked || r.third_party,
    unmaskedReason: r.masked ? null : r.unmasked_reason,
    personCount: r.person_count,
    reviews: own.map((v) => ({
      party: v.party,
      decision: v.decision,
      reason: v.reason,
      reviewer: v.reviewer_sub,
      reviewerUnit: v.reviewer_unit,
      ...(typeof v.details.collectiveDecision === 'string' ? { collectiveDecision: v.details.collectiveDecision } : {}),
      ...(typeof v.details.externalApproval === 'string' ? { externalApproval: v.details.externalApproval } : {}),
      reviewedAt: v.reviewed_at.toISOString()
    })),
    commitment: r.commitment === null
      ? null
      : {
          text: r.commitment.text,
          digest: { sha256: r.commitment.sha256, sm3: r.commitment.sm3 },
          signer: r.commitment.signerSub,
          signerUnit: r.commitment.signerUnit,
          signedAt: r.commitment.signedAt
        },
    agreement: links.agreement,
    grant: links.grant,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString()
  }
}
