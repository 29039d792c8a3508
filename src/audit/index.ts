/**
 * What other services take from the audit service: the vocabulary of audit actions, the 503 of a
 * log that cannot be written, recording a read before it leaves, and writing domain events. The
 * log itself is `app.audit` (log-plugin.ts); no routes here.
 */
export { AUDIT_ACTIONS, AUDIT_OUTCOMES, type AppendResult, type AuditAction, type AuditEventInput, type AuditOutcome } from './events.js'
export { AuditUnavailableError, type AuditUnavailableCode } from './errors.js'
export { recordOrRefuse, type Refusal } from './record.js'
export { domainEvents, type DomainEventWriter, type EventAuthor, type EventObject } from './domain-events.js'
