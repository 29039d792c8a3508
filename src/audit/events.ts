import type { AuditAction } from '../platform/audit-actions.js'

/**
 * The vocabulary of audit events, what happened, is platform/audit-actions.ts: every service that
 * records what it does speaks it (domain events' verbs included).
 */
export { AUDIT_ACTIONS, actionOfDomainEvent, type AuditAction } from '../platform/audit-actions.js'

/**
 * The actions of reads, a page of data (`query`) or an export: what the person trace lists and the
 * alert rules on reading count (as does the partial index audit_events_reads_idx of migration 0010).
 */
export const READ_ACTIONS = ['query', 'export'] as const satisfies readonly AuditAction[]
/** The actions the access report sums: reads and writes of a dataset's data. */
export const ACCESS_ACTIONS = [...READ_ACTIONS, 'insert', 'update', 'delete'] as const satisfies readonly AuditAction[]

/** How an event ended. */
export const AUDIT_OUTCOMES = ['success', 'denied', 'failure'] as const
export type AuditOutcome = typeof AUDIT_OUTCOMES[number]

export interface AuditActor {
  sub: string
  unit?: string | null
  roles?: readonly string[]
  client?: string | null
  ip?: string | null
}

/** One thing to record. Personal data never goes in: name fields, count rows, digest keys. */
export interface AuditEventInput {
  /** the service that acted: catalog, authorization, masking, gateway, audit, platform */
  service?: string
  action: AuditAction
  /** dotted verb of the operation: `records.read`, `dataset.create` */
  operation: string
  outcome?: AuditOutcome
  actor: AuditActor
  objectType?: string | null
  objectId?: string | null
  dataset?: string | null
  fields?: readonly string[] | null
  rows?: number | null
  grantId?: string | null
  requestId?: string | null
  /** before/after, counts, reasons */
  details?: Record<string, unknown>
  occurredAt?: Date
  /**
   * The person-access trace: keyed digests (persons/trace.ts) of the persons whose rows the event
   * served, distinct. Stored beside the chain in the same write (audit_person_reads), never in it.
   */
  persons?: readonly Buffer[] | null
}

export interface AppendResult {
  /** position in the global chain */
  seq: string
  hash: string
}
