/**
 * The audit service's public entry: what other services may use of it. The vocabulary of audit
 * actions, the 503 of a log that cannot be written, recording a read before it leaves, writing
 * domain events, the audit log of a request, denial limits, the blacklist, person traces,
 * canonical JSON and the chain's verification. Nothing else of src/audit/ is imported from
 * outside it; the log itself is `app.audit` (log-plugin.ts) and the routes are mounted by
 * src/services.ts, never exported here. See docs/architecture.md.
 */
export { addBlacklistEntry } from './blacklist/repository.js'
export { createDenialLimiter } from './denials.js'
export { AuditUnavailableError, type AuditUnavailableCode } from './errors.js'
export { AUDIT_ACTIONS, AUDIT_OUTCOMES, type AppendResult, type AuditAction, type AuditEventInput, type AuditOutcome } from './events.js'
export { auditLogOf, type AuditLog } from './log-plugin.js'
export { backfillPersonDigests } from './persons/backfill.js'
export { digestColumn, personTracerOf, tracedPersons, type PersonDigester, type PersonTracer } from './persons/trace.js'
export { recordOrRefuse, type Refusal } from './record.js'
export { verifyAuditChain } from './verify.js'
export type { AuditEventTable, AuditEventRow, AuditChainHeadTable, AuditCheckpointTable, AuditCheckpoint, AuditAlertTable } from './table.js'
export type { BlacklistKind, AuditBlacklistTable, BlacklistEntry } from './blacklist/table.js'
