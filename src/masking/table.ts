import type { ColumnType, Selectable } from 'kysely'
import type { CreatedAt, UpdatedAt } from '../db/columns.js'

// masking service: policies of datasets per scenario profile, versioned (migrations/0004)
/** rules per profile: {display: {field: {strategy, …params}}, internal_analysis: …, third_party: …} */
type PolicyProfilesColumn = ColumnType<Record<string, Record<string, { strategy: string, [param: string]: unknown }>>, string, string>
export interface MaskingPolicyTable {
  dataset_code: string
  version: number
  profiles: PolicyProfilesColumn
  updated_by: string
  updated_at: UpdatedAt
}
export type MaskingPolicy = Selectable<MaskingPolicyTable>

export interface MaskingPolicyVersionTable {
  dataset_code: string
  version: number
  profiles: PolicyProfilesColumn
  reason: string
  changed_by: string
  changed_at: CreatedAt
}
export type MaskingPolicyVersion = Selectable<MaskingPolicyVersionTable>
