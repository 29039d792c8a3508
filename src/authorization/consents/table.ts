import type { ColumnType, Generated, Selectable } from 'kysely'
import type { CreatedAt } from '../../db/columns.js'

export interface ConsentTable {
  id: Generated<string>
  /** order of recording, for keyset pagination */
  seq: ColumnType<string, never, never>
  unit_code: string
  person_key: string
  dataset_code: string | null
  /** free text; optional since purposes are a list (migrations/0019) */
  purpose: string | null
  /** the purpose consented to (migrations/0019) */
  purpose_code: string
  kind: 'general' | 'separate' | 'guardian'
  evidence: string
  given_at: ColumnType<Date, Date | string, Date | string>
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  status: Generated<'active' | 'withdrawn'>
  withdrawn_at: Date | null
  withdrawal_reason: string | null
  recorded_by: string
  created_at: CreatedAt
}
export type Consent = Selectable<ConsentTable>
