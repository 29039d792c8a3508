/**
 * The codes of the 503 that withholds what could not be recorded: `DATA_AUDIT_UNAVAILABLE` on
 * /api/v1 (reads, exports, downloads, traces), `OPEN_AUDIT_UNAVAILABLE` on the open data API.
 */
export type AuditUnavailableCode = 'DATA_AUDIT_UNAVAILABLE' | 'OPEN_AUDIT_UNAVAILABLE'

/**
 * The audit log cannot be written right now, so what it would have recorded is not done or not
 * sent (no data without audit): a 503 to retry shortly (problem.ts adds `Retry-After: 1`).
 */
export class AuditUnavailableError extends Error {
  readonly statusCode = 503
  constructor (message: string, readonly code: AuditUnavailableCode = 'DATA_AUDIT_UNAVAILABLE') {
    super(message)
    this.name = 'AuditUnavailableError'
  }
}
