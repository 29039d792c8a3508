/**
 * The audit service's public entry: what other services may use of it (the audit log of a request,
 * denial limits, the blacklist, person traces, canonical JSON). Nothing else of src/audit/ is
 * imported from outside it; its routes are mounted by src/services.ts. See docs/architecture.md.
 */
export { addBlacklistEntry } from './blacklist/repository.js'
export { createDenialLimiter } from './denials.js'
export { type AppendResult, type AuditEventInput } from './events.js'
export { canonicalJson } from './hash-chain.js'
export { auditLogOf, type AuditLog } from './log-plugin.js'
export { backfillPersonDigests } from './persons/backfill.js'
export { digestColumn, personTracerOf, tracedPersons, type PersonDigester, type PersonTracer } from './persons/trace.js'
export { verifyAuditChain } from './verify.js'
export type { AuditEventTable, AuditEventRow, AuditChainHeadTable, AuditCheckpointTable, AuditCheckpoint, AuditAlertTable } from './table.js'
export type { BlacklistKind, AuditBlacklistTable, BlacklistEntry } from './blacklist/table.js'
