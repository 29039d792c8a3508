import type { ColumnType, Selectable } from 'kysely'
import type { CreatedAt, UpdatedAt } from '../db/columns.js'
import type { AlertRule } from './alerts/registry.js'
import type { AuditAction, AuditOutcome } from './events.js'
import type { HashAlgorithm } from './hash-chain.js'

// audit service: the hash-chained log, its head and its signed checkpoints (migrations/0005)
export interface AuditEventTable {
  seq: ColumnType<string, string, never>
  occurred_at: ColumnType<Date, string, never>
  recorded_at: ColumnType<Date, string, never>
  service: string
  action: AuditAction
  operation: string
  outcome: AuditOutcome
  actor_sub: string
  actor_unit: string | null
  actor_roles: string[]
  actor_client: string | null
  actor_ip: string | null
  object_type: string | null
  object_id: string | null
  dataset_code: string | null
  fields: string[] | null
  row_count: ColumnType<string | null, string | null, never>
  grant_id: string | null
  request_id: string | null
  domain_event_id: ColumnType<string | null, string | null, never>
  details: ColumnType<Record<string, unknown>, string, never>
  hash_alg: HashAlgorithm
  prev_hash: string
  hash: string
}
export type AuditEventRow = Selectable<AuditEventTable>

export interface AuditChainHeadTable {
  id: number
  seq: string
  hash: string
  checkpoint_seq: string
  checkpoint_at: UpdatedAt
}

export interface AuditCheckpointTable {
  seq: ColumnType<string, string, never>
  head_hash: string
  hash_alg: string
  created_at: ColumnType<Date, string, never>
  reason: string
  key_id: string
  algorithm: string
  signature: string
}
export type AuditCheckpoint = Selectable<AuditCheckpointTable>

/** an alert waits for an auditor, who acknowledges it */
export type AlertStatus = 'open' | 'acknowledged'
export interface AuditAlertTable {
  id: ColumnType<number, never, never>
  rule: AlertRule
  actor_key: string
  bucket: string
  actor_sub: string
  actor_unit: string | null
  actor_ip: string | null
  window_start: Date
  window_end: Date
  count: string
  first_seq: string
  last_seq: string
  status: ColumnType<AlertStatus, AlertStatus | undefined, AlertStatus>
  acked_by: string | null
  acked_at: Date | null
  note: string | null
  created_at: CreatedAt
  /** what the rule found beyond its count: the grant and its quota, the datasets, the baseline (migrations/0010) */
  details: ColumnType<Record<string, unknown>, string | undefined, string>
}
