import type { ColumnType, Generated } from 'kysely'

// gateway data path: cache versions and quota usage (migrations/0011)
export interface DataPathVersionTable {
  source: string
  version: ColumnType<string, never, string>
}
export interface GrantUsageTable {
  grant_id: string
  /** campus day, YYYY-MM-DD */
  day: string
  rows: ColumnType<string, number | string | undefined, number | string>
  updated_at: Generated<Date>
}
