import type { ColumnType, Insertable, Selectable } from 'kysely'
import type { NullableTime } from '../../db/columns.js'

/** A correction's course: reported, then accepted or rejected by the producer, then made by a batch. */
export const CORRECTION_STATUSES = ['open', 'accepted', 'rejected', 'corrected'] as const
export type CorrectionStatus = typeof CORRECTION_STATUSES[number]

type Time = ColumnType<Date, Date | string | undefined, Date | string>

/** `record_corrections` (migrations/0022): a reported error in one field of one record. */
export interface RecordCorrectionTable {
  id: string
  seq: ColumnType<string, never, never>
  dataset_code: string
  /** as `records.record_key` */
  record_key: string
  field: string
  description: string
  /** the proposed value of a field stored in the clear (JSON), else null */
  proposed_value: ColumnType<unknown, string | null | undefined, string | null>
  /** the proposed value of an encrypted field, sealed under the dataset's data key, else null */
  proposed_sealed: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>
  reporter_unit: string
  reporter_sub: string
  reporter_client: string | null
  /** reported by the office on a person's behalf */
  on_behalf: ColumnType<boolean, boolean | undefined, boolean>
  status: ColumnType<CorrectionStatus, CorrectionStatus | undefined, CorrectionStatus>
  due_at: Time
  decision_reason: string | null
  decided_by: string | null
  decided_at: NullableTime
  resolved_by_batch: string | null
  resolved_by: string | null
  resolved_at: NullableTime
  overdue_reported_at: NullableTime
  reported_at: Time
}
export type RecordCorrection = Selectable<RecordCorrectionTable>
export type NewRecordCorrection = Insertable<RecordCorrectionTable>
