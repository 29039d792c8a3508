import type { FastifyRequest } from 'fastify'
import { AuditUnavailableError, type AuditUnavailableCode } from './errors.js'
import type { AppendResult } from './events.js'

/** What a read that could not be recorded says, and undoes, before it is refused. */
export interface Refusal {
  /** for the process log: `audit: a data read could not be recorded; no data sent` */
  log: string
  /** for the caller: `the audit log cannot be written right now, so no data is sent; retry shortly` */
  detail: string
  /** the surface's code (default `DATA_AUDIT_UNAVAILABLE`) */
  code?: AuditUnavailableCode
  /** gives back what was taken for the read (its quota, its export row); runs after the log line */
  undo?: () => unknown
}

/**
 * Records a read (a page of data, an export, a download, a trace) before any of it leaves, and
 * resolves to the event's sequence number (for X-Audit-Event). If the log cannot be written the
 * read is refused: the failure is logged, `undo` runs, and a 503 AuditUnavailableError is thrown
 * (no data without audit, docs/architecture.md).
 */
export async function recordOrRefuse (request: FastifyRequest, append: () => Promise<AppendResult>, refusal: Refusal): Promise<string> {
  try {
    return (await append()).seq
  } catch (err) {
    request.log.error({ err }, refusal.log)
    await refusal.undo?.()
    throw new AuditUnavailableError(refusal.detail, refusal.code)
  }
}

/** How the audit service's own reads (the log, a person's accesses, the access report) are refused when they cannot be recorded. */
export const AUDIT_READ_REFUSAL: Refusal = {
  log: 'audit: a read of the audit log could not be recorded; nothing sent',
  detail: 'the audit log cannot be written right now, so what it holds is not sent either; retry shortly'
}
