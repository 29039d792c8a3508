import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'
import type { CreatedAt, UpdatedAt, Day, JsonColumn } from '../../db/columns.js'
import type { RowFilter } from '../../platform/row-filter.js'

/** how a grant's data may be taken: the data API, or files (exports) */
export type AccessMode = 'api' | 'export'
export type GrantStatus = 'active' | 'suspended' | 'revoked'
export interface GrantTable {
  id: Generated<string>
  seq: ColumnType<string, never, never>
  share_request_id: string
  consumer_unit: string
  subject: string | null
  dataset_code: string
  producer_unit: string
  fields: string[]
  row_filter: JsonColumn<RowFilter>
  purpose: string
  access_modes: AccessMode[]
  valid_from: Day
  valid_until: Day
  daily_row_quota: number
  masked: boolean
  third_party: boolean
  children_pi: boolean
  consent_ids: ColumnType<string[], string[] | undefined, string[]>
  status: GrantStatus
  status_reason: string | null
  status_changed_by: string | null
  status_changed_at: Date | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  /** re-certification (migrations/0017): the last decision of the producer's steward; due GRANT_RECERTIFY_DAYS after it (or after creation) */
  recertified_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  recertified_by: ColumnType<string | null, string | null | undefined, string | null>
  recertification_decision: ColumnType<'keep' | 'revoke' | null, 'keep' | 'revoke' | null | undefined, 'keep' | 'revoke' | null>
  recertification_reason: ColumnType<string | null, string | null | undefined, string | null>
  /** when the current period's due date was reported to the audit log (once per period) */
  recertification_reported_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /** the request said it rests on consent; the purpose a person's consent must be for (migrations/0019) */
  consent_based: Generated<boolean>
  purpose_code: ColumnType<string | null, string | null | undefined, string | null>
}
export type Grant = Selectable<GrantTable>
export type NewGrant = Insertable<GrantTable>
