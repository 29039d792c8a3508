import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, UpdatedAt, Day, JsonColumn } from '../../db/columns.js'
import type { RowFilter } from '../../platform/row-filter.js'
import type { AccessMode } from '../grants/table.js'

/** the usage commitment a consumer signed (R7.4): its text, digests, signer and time */
export interface StoredCommitment {
  text: string
  sha256: string
  sm3: string
  signerSub: string
  signerUnit: string
  signedAt: string
}

export type ShareWorkflow = 'none' | 'rule' | 'office' | 'producer_office' | 'producer_office_leadership'
/** who receives data provided outside the university (migrations/0015) */
export type RecipientKind = 'government' | 'enterprise' | 'university' | 'research_institute' | 'individual' | 'other'
export type ShareRequestStatus = 'pending_review' | 'approved' | 'active' | 'rejected' | 'withdrawn'

export interface ShareRequestTable {
  id: Generated<string>
  /** order of filing, for keyset pagination */
  seq: ColumnType<string, never, never>
  dataset_code: string
  producer_unit: string
  consumer_unit: string
  subject: string | null
  requested_by: string
  requested_client: string | null
  fields: string[]
  row_filter: JsonColumn<RowFilter>
  purpose: string
  legal_basis: string
  access_modes: AccessMode[]
  valid_from: Day
  valid_until: Day
  daily_row_quota: number
  third_party: boolean
  third_party_name: string | null
  consent_ids: ColumnType<string[], string[] | undefined, string[]>
  workflow: ShareWorkflow
  needs_agreement: boolean
  status: ShareRequestStatus
  decision_reason: string | null
  review_due_at: Date | null
  overdue_reported_at: Date | null
  masked: Generated<boolean>
  unmasked_reason: string | null
  collective_decision: string | null
  external_approval: string | null
  person_count: number | null
  commitment: ColumnType<StoredCommitment | null, string | null | undefined, string | null>
  /** provided outside the university (对外提供), to the recipient (migrations/0015) */
  external: Generated<boolean>
  recipient_name: string | null
  recipient_kind: RecipientKind | null
  /** the grant this request renews (migrations/0015) */
  renews: string | null
  /** the use rests on the persons' consent, and the purpose it must be for (migrations/0019) */
  consent_based: Generated<boolean>
  purpose_code: ColumnType<string | null, string | null | undefined, string | null>
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type ShareRequest = Selectable<ShareRequestTable>
export type NewShareRequest = Insertable<ShareRequestTable>
export type ShareRequestUpdate = Updateable<ShareRequestTable>

export type ReviewParty = 'rule' | 'producer' | 'office' | 'leadership'
export interface ShareRequestReviewTable {
  id: Generated<string>
  share_request_id: string
  party: ReviewParty
  decision: 'approve' | 'reject'
  reason: string | null
  reviewer_sub: string
  reviewer_unit: string
  details: ColumnType<Record<string, unknown>, string | undefined, never>
  reviewed_at: CreatedAt
}
export type ShareRequestReview = Selectable<ShareRequestReviewTable>
