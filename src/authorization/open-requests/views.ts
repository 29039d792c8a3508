import type { OpenRequest, OpenRequestReview } from '../../db/database.js'
import { campusToday } from '../../platform/calendar.js'
import type { OpenRequestView } from './schemas.js'

/** A day `days` after today on the campus calendar. */
export function campusDayAfter (days: number, now = new Date()): string {
  return campusToday(new Date(now.getTime() + days * 86_400_000))
}

function decision (row: OpenRequest, review: OpenRequestReview | undefined, today: string) {
  const validUntil = review?.valid_until ?? null
  return {
    id: row.id,
    dataset: row.dataset_code,
    status: row.status,
    conditions: review?.conditions ?? null,
    validUntil,
    expired: row.status === 'approved' && validUntil !== null && validUntil < today,
    createdAt: row.created_at.toISOString()
  }
}

function applicant (row: OpenRequest) {
  return {
    name: row.applicant_name,
    organisation: row.applicant_organisation,
    contact: row.applicant_contact,
    qualification: row.applicant_qualification
  }
}

/** The request as the office, auditors and the producer's steward see it. */
export function toOpenRequestView (row: OpenRequest, review: OpenRequestReview | undefined, today = campusToday()): OpenRequestView {
  return {
    ...decision(row, review, today),
    producerUnit: row.producer_unit,
    applicant: applicant(row),
    purpose: row.purpose,
    fields: row.fields,
    scope: row.scope,
    review: review
      ? {
          decision: review.decision,
          reason: review.reason,
          conditions: review.conditions,
          validUntil: review.valid_until,
          reviewer: review.reviewer_sub,
          reviewedAt: review.reviewed_at.toISOString()
        }
      : null,
    updatedAt: row.updated_at.toISOString()
  }
}

/** The answer to the filing: what was filed, and the receipt, this once. */
export function toCreatedView (row: OpenRequest, receipt: string) {
  return {
    ...decision(row, undefined, campusToday()),
    applicant: applicant(row),
    purpose: row.purpose,
    fields: row.fields,
    scope: row.scope,
    receipt,
    statusUrl: `/api/v1/open-requests/${row.id}/status`
  }
}

/** Where the request stands, for its applicant: the decision, not the office's internals. */
export function toStatusView (row: OpenRequest, review: OpenRequestReview | undefined, today = campusToday()) {
  return {
    ...decision(row, review, today),
    reason: review?.reason ?? null,
    decidedAt: review?.reviewed_at.toISOString() ?? null
  }
}
