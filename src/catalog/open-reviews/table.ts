import type { Generated, Selectable } from 'kysely'
import type { CreatedAt } from '../../db/columns.js'
import type { Attribute } from '../../platform/vocabulary.js'

// catalog: open reviews (migrations/0007)
export type OpenReviewLevel = 1 | 2 | 3
export interface OpenReviewRoundTable {
  id: Generated<string>
  dataset_code: string
  round: number
  status: 'in_review' | 'approved' | 'rejected'
  started_by: string
  started_at: CreatedAt
  closed_at: Date | null
  approved_grade_version: number | null
  approved_open_attribute: Attribute | null
}
export type OpenReviewRound = Selectable<OpenReviewRoundTable>

export interface OpenReviewTable {
  id: Generated<string>
  round_id: string
  level: OpenReviewLevel
  decision: 'approve' | 'reject'
  reason: string | null
  reviewer_sub: string
  reviewer_unit: string
  reviewed_at: CreatedAt
}
export type OpenReview = Selectable<OpenReviewTable>
