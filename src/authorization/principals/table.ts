import type { ColumnType, Generated, Selectable } from 'kysely'
import type { CreatedAt } from '../../db/columns.js'

// authorization: offboarding (migrations/0009)
export interface OffboardingTable {
  id: Generated<string>
  /** order of recording, for keyset pagination */
  seq: ColumnType<string, never, never>
  sub: string
  unit_code: string
  reason: string
  exit_audit: boolean
  offboarded_by: string
  offboarded_at: CreatedAt
  confidentiality_until: ColumnType<Date, Date | string, never>
  revoked_grants: ColumnType<string[], string[] | undefined, string[]>
  withdrawn_requests: ColumnType<string[], string[] | undefined, string[]>
  disabled_clients: ColumnType<string[], string[] | undefined, string[]>
}
export type Offboarding = Selectable<OffboardingTable>
