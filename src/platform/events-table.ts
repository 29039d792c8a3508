import type { ColumnType, Generated, Selectable } from 'kysely'
import type { CreatedAt } from '../db/columns.js'
import type { DomainEventInput } from './events.js'

// platform: domain events of every service, for the audit log
export interface DomainEventTable {
  id: Generated<string>
  occurred_at: CreatedAt
  service: DomainEventInput['service']
  action: string
  actor_sub: string
  actor_unit: string
  actor_client: string | null
  object_type: string
  object_id: string
  dataset_code: string | null
  request_id: string | null
  details: ColumnType<Record<string, unknown>, string | undefined, never>
}
export type DomainEvent = Selectable<DomainEventTable>
