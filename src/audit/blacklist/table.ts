import type { ColumnType, Generated, Selectable } from 'kysely'
import type { CreatedAt } from '../../db/columns.js'

// audit service: the blacklist (migrations/0008)
export type BlacklistKind = 'principal' | 'client' | 'ip'
export interface AuditBlacklistTable {
  id: Generated<string>
  seq: ColumnType<string, never, never>
  kind: BlacklistKind
  value: string
  unit: string | null
  reason: string
  expires_at: Date | null
  alert_id: number | null
  created_by: string
  created_at: CreatedAt
  lifted_at: Date | null
  lifted_by: string | null
  lift_reason: string | null
}
export type BlacklistEntry = Selectable<AuditBlacklistTable>
