import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'
import type { CreatedAt, UpdatedAt, Day } from '../../db/columns.js'

// authorization: open requests (migrations/0007)
export type OpenRequestStatus = 'pending_review' | 'approved' | 'rejected'
export interface OpenRequestTable {
  id: Generated<string>
  seq: ColumnType<string, never, never>
  dataset_code: string
  producer_unit: string
  applicant_name: string
  applicant_organisation: string
  applicant_contact: string
  applicant_qualification: string
  purpose: string
  fields: string[]
  scope: string
  status: OpenRequestStatus
  receipt_sha256: string
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type OpenRequest = Selectable<OpenRequestTable>
export type NewOpenRequest = Insertable<OpenRequestTable>

export interface OpenRequestReviewTable {
  open_request_id: string
  decision: 'approve' | 'reject'
  reason: string | null
  conditions: string | null
  valid_until: Day | null
  reviewer_sub: string
  reviewer_unit: string
  reviewed_at: CreatedAt
}
export type OpenRequestReview = Selectable<OpenRequestReviewTable>
