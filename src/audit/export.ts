import type { AuditEventView } from './schemas.js'

export const CSV_COLUMNS = [
  'seq', 'occurredAt', 'recordedAt', 'service', 'action', 'operation', 'outcome', 'actorSub', 'actorUnit', 'actorRoles',
  'actorClient', 'actorIp', 'objectType', 'objectId', 'dataset', 'fields', 'rows', 'grantId', 'requestId', 'details', 'hash'
] as const

/** RFC 4180 field; a leading =+-@ is prefixed so that a spreadsheet never runs it as a formula. */
function csvField (value: unknown): string {
  if (value === null || value === undefined) return ''
  let text = typeof value === 'string' ? value : JSON.stringify(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function csvHeader (): string {
  return `${CSV_COLUMNS.join(',')}\r\n`
}

export function csvLine (e: AuditEventView): string {
  const flat: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    seq: e.seq,
    occurredAt: e.occurredAt,
    recordedAt: e.recordedAt,
    service: e.service,
    action: e.action,
    operation: e.operation,
    outcome: e.outcome,
    actorSub: e.actor.sub,
    actorUnit: e.actor.unit,
    actorRoles: e.actor.roles.join(' '),
    actorClient: e.actor.client,
    actorIp: e.actor.ip,
    objectType: e.objectType,
    objectId: e.objectId,
    dataset: e.dataset,
    fields: e.fields?.join(' ') ?? null,
    rows: e.rows,
    grantId: e.grantId,
    requestId: e.requestId,
    details: e.details,
    hash: e.hash
  }
  return `${CSV_COLUMNS.map((c) => csvField(flat[c])).join(',')}\r\n`
}
