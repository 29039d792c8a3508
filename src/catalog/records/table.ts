import type { ColumnType, Selectable } from 'kysely'
import type { CreatedAt, UpdatedAt } from '../../db/columns.js'
import type { BatchSummary } from './repository.js'

export interface RecordTable {
  dataset_code: string
  /** the primary-key value as text; for a composite key, the JSON array of the values as text */
  record_key: string
  data: ColumnType<Record<string, unknown>, string, string>
  person_key: string | null
  batch_id: string
  source_unit: string
  source_sub: string
  source_client: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  /** the values of the encrypted fields, sealed together under the dataset's data key (migrations/0014) */
  sealed: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>
  /** blind indexes of the encrypted fields: field → keyed HMAC of the value (migrations/0014) */
  blind: ColumnType<Record<string, string> | null, string | null | undefined, string | null>
  /** masked forms of the sealed values that do not depend on the grant, by profile, and `#` the rules' digest (migrations/0021) */
  masked: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>
  /** the keyed digest of person_key for the person-access trace, made at ingest, and which trace key made it (migrations/0025) */
  person_digest: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>
  person_digest_key: ColumnType<number | null, number | null | undefined, number | null>
}
export type StoredRecord = Selectable<RecordTable>

export interface IngestBatchTable {
  id: string
  dataset_code: string
  unit: string
  sub: string
  client: string | null
  format: BatchSummary['format']
  received: number
  accepted: number
  rejected: number
  /** rejection reasons counted by field: {field: count} */
  errors: ColumnType<Record<string, number>, string | undefined, string>
  created_at: CreatedAt
}
export type IngestBatch = Selectable<IngestBatchTable>
