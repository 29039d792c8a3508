/**
 * The vocabulary of the audit log, shared by every service that records what it does. The one list:
 * the writers' types (AuditAction, DomainAction), the OpenAPI enums and docs/audit.md
 * (test/audit/actions.test.ts holds the docs to it) follow it.
 */
export const AUDIT_ACTIONS = [
  'query', 'insert', 'update', 'delete', 'export', 'review', 'sign', 'grant', 'revoke', 'login',
  'policy_change', 'destruction', 'denied', 'purge'
] as const
export type AuditAction = typeof AUDIT_ACTIONS[number]

/**
 * The verbs of domain events (the last word of `dataset.create`, `grant.revoke`, …) and the audit
 * action each is recorded as. A writer's verb is checked against this table when it compiles: a new
 * verb is added here, with the action it is.
 */
export const DOMAIN_VERBS = {
  create: 'insert',
  register: 'insert',
  ingest: 'insert',
  insert: 'insert',
  delete: 'delete',
  remove: 'delete',
  review: 'review',
  approve: 'review',
  reject: 'review',
  sign: 'sign',
  commit: 'sign',
  grant: 'grant',
  revoke: 'revoke',
  offboard: 'revoke',
  suspend: 'revoke',
  destroy: 'destruction',
  execute: 'destruction',
  witness: 'destruction',
  export: 'export',
  update: 'update',
  // changes of state recorded as updates
  agreement: 'update',
  confirm: 'update',
  decide: 'update',
  detokenize: 'update',
  disable: 'update',
  holder: 'update',
  lift: 'update',
  mark: 'update',
  narrow: 'update',
  open: 'update',
  overdue: 'update',
  propose: 'update',
  publish: 'update',
  recertify: 'update',
  recertification_due: 'update',
  record: 'update',
  record_batch: 'update',
  regrade: 'update',
  renewed: 'update',
  report: 'update',
  resolve: 'update',
  retire: 'update',
  review_overdue: 'update',
  withdraw: 'update'
} as const satisfies Record<string, AuditAction>
export type DomainVerb = keyof typeof DOMAIN_VERBS

/** A domain event's dotted verb: what changed, then a verb of DOMAIN_VERBS. */
export type DomainAction = `${string}.${DomainVerb}`

/** The audit action of a domain event, from the last word of its dotted verb; policy changes are their own action. */
export function actionOfDomainEvent (operation: string): AuditAction {
  if (operation.startsWith('grading-policy.') || operation.startsWith('masking-policy.')) return 'policy_change'
  const verb = operation.slice(operation.lastIndexOf('.') + 1)
  return Object.hasOwn(DOMAIN_VERBS, verb) ? DOMAIN_VERBS[verb as DomainVerb] : 'update'
}
