import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'
import type { CreatedAt, UpdatedAt, NullableTime, JsonColumn } from '../../db/columns.js'
import type { RowFilter } from '../../platform/row-filter.js'
import type { Certificate } from './schemas.js'

// catalog: destructions and their certificates (migrations/0012)
export type DestructionScope = 'all' | 'filter' | 'expired'
export type DestructionStatus = 'pending_review' | 'approved' | 'witnessed' | 'rejected' | 'executed'
export interface DestructionTable {
  id: Generated<string>
  /** order of proposal, for keyset pagination */
  seq: ColumnType<string, never, never>
  dataset_code: string
  producer_unit: string
  scope: DestructionScope
  row_filter: ColumnType<RowFilter | null, string | null, string | null>
  cutoff: ColumnType<Date | null, Date | string | null, Date | string | null>
  reason: string
  rows_in_scope: number
  status: ColumnType<DestructionStatus, DestructionStatus | undefined, DestructionStatus>
  decision_reason: string | null
  proposed_by: string
  proposed_unit: string
  proposed_client: string | null
  proposed_at: CreatedAt
  witness_sub: string | null
  witness_unit: string | null
  witness_note: string | null
  witnessed_at: NullableTime
  executed_by: string | null
  executed_unit: string | null
  executed_at: NullableTime
  updated_at: UpdatedAt
}
export type Destruction = Selectable<DestructionTable>
export type NewDestruction = Insertable<DestructionTable>
export interface DestructionReviewTable {
  destruction_id: string
  party: 'producer' | 'office'
  decision: 'approve' | 'reject'
  reason: string | null
  reviewer_sub: string
  reviewer_unit: string
  reviewed_at: CreatedAt
}
export type DestructionReview = Selectable<DestructionReviewTable>
export interface DestructionCertificateTable {
  id: string
  destruction_id: string
  dataset_code: string
  content: JsonColumn<Omit<Certificate, 'digest'>>
  digest_sha256: string
  digest_sm3: string
  issued_at: CreatedAt
}
export type DestructionCertificateRow = Selectable<DestructionCertificateTable>
