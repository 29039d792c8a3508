import type { Selectable } from 'kysely'
import type { CreatedAt, UpdatedAt } from '../../db/columns.js'

/** the campus's purposes of use, kept by the office; retired, never deleted (migrations/0019) */
export interface PurposeTable {
  code: string
  name_zh: string
  name_en: string
  description: string
  retired_at: Date | null
  retired_by: string | null
  created_by: string
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type Purpose = Selectable<PurposeTable>
