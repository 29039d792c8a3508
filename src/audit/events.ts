/**
 * The vocabulary of audit events: what happened. The one list: the writers' type (AuditAction),
 * the OpenAPI enums and docs/audit.md (test/audit/actions.test.ts holds the docs to it) follow it.
 */
export const AUDIT_ACTIONS = [
  'query', 'insert', 'update', 'delete', 'export', 'review', 'sign', 'grant', 'revoke', 'login',
  'policy_change', 'destruction', 'denied', 'purge'
] as const
export type AuditAction = typeof AUDIT_ACTIONS[number]

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

/** The audit action of a service's domain event, from the last word of its dotted verb. */
export function actionOfDomainEvent (operation: string): AuditAction {
  if (operation.startsWith('grading-policy.') || operation.startsWith('masking-policy.')) return 'policy_change'
  const verb = operation.slice(operation.lastIndexOf('.') + 1)
  switch (verb) {
    case 'create': case 'register': case 'ingest': case 'insert': return 'insert'
    case 'delete': case 'remove': return 'delete'
    case 'review': case 'approve': case 'reject': return 'review'
    case 'sign': case 'commit': return 'sign'
    case 'grant': return 'grant'
    case 'revoke': case 'offboard': case 'suspend': return 'revoke'
    case 'destroy': case 'execute': case 'witness': return 'destruction'
    case 'export': return 'export'
    default: return 'update'
  }
}
