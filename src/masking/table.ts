import type { Selectable } from 'kysely'
import type { CreatedAt, JsonColumn, UpdatedAt } from '../db/columns.js'
import type { PolicyProfiles } from './policy.js'

// masking service: policies of datasets per scenario profile, versioned (migrations/0004)
/** rules per profile: {display: {field: {strategy, …params}}, internal_analysis: …, third_party: …} */
type PolicyProfilesColumn = JsonColumn<PolicyProfiles>
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
