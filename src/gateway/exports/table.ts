import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'
import type { CreatedAt, NullableTime, Day, JsonColumn, BigCount } from '../../db/columns.js'
import type { AeadSuite } from '../../platform/aead.js'

// gateway: exports and their decoy rows (migrations/0013)
export type ExportStatus = 'queued' | 'running' | 'done' | 'failed' | 'expired'
export interface ExportTable {
  id: Generated<string>
  seq: ColumnType<string, never, never>
  grant_id: string
  dataset_code: string
  consumer_unit: string
  sub: string
  client: string | null
  fields: string[]
  filters: JsonColumn<Record<string, unknown>>
  filter_summary: JsonColumn<Record<string, string>>
  status: ColumnType<ExportStatus, ExportStatus | undefined, ExportStatus>
  rows_total: BigCount
  rows_written: BigCount
  decoys: ColumnType<number, number | undefined, number>
  quota_day: Day
  bytes: ColumnType<string | null, number | string | null | undefined, number | string | null>
  sha256: string | null
  file_name: string | null
  file_suite: AeadSuite
  watermark_key_ref: string
  watermark_check: string
  heartbeat_at: ColumnType<Date, Date | string | undefined, Date | string>
  created_at: CreatedAt
  started_at: NullableTime
  finished_at: NullableTime
  expires_at: NullableTime
  error: string | null
}
export type ExportRow = Selectable<ExportTable>
export type NewExport = Insertable<ExportTable>
export interface ExportDecoyTable {
  export_id: string
  ordinal: number
  position: BigCount
  cells: JsonColumn<Record<string, { d: string, f: number, q: number }>>
}
export type ExportDecoy = Selectable<ExportDecoyTable>
