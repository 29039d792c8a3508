import type { ColumnType } from 'kysely'
import type { CreatedAt } from '../../db/columns.js'
import type { AeadSuite } from '../../platform/aead.js'

// catalog: the sweep that seals what is still clear and keeps masked forms current (migrations/0021)
export interface EncryptionSweepTable {
  dataset_code: string
  /** the encrypted fields every record was brought to */
  fields: string[]
  /** the rules' digest of the masked forms every record was brought to; null when none are kept */
  masked_digest: string | null
  /** records rewritten by the last sweep */
  records: ColumnType<string, number | string | undefined, number | string>
  swept_at: ColumnType<Date, Date | string | undefined, Date | string>
}

// catalog: encryption at rest (migrations/0014)
export interface MasterKeyTable {
  fingerprint: string
  check_value: Buffer
  created_at: CreatedAt
  retired_at: ColumnType<Date | null, never, Date | null>
}
export interface DataKeyTable {
  dataset_code: string
  suite: AeadSuite
  wrapped: Buffer | null
  master_fingerprint: string | null
  created_at: CreatedAt
  rewrapped_at: ColumnType<Date | null, never, Date | null>
  destroyed_at: ColumnType<Date | null, never, Date | null>
  destroyed_by: ColumnType<string | null, never, string | null>
}
