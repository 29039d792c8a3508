import type { CheckpointRow, StoredEvent } from './repository.js'
import type { AuditEventView } from './schemas.js'

/** The API shape of a stored event: the one place rows become responses. */
export function toEventView (e: StoredEvent): AuditEventView {
  return {
    seq: Number(e.seq),
    occurredAt: e.occurredAt,
    recordedAt: e.recordedAt,
    service: e.service,
    action: e.action as AuditEventView['action'],
    operation: e.operation,
    outcome: e.outcome as AuditEventView['outcome'],
    actor: { sub: e.actorSub, unit: e.actorUnit, roles: e.actorRoles, client: e.actorClient, ip: e.actorIp },
    objectType: e.objectType,
    objectId: e.objectId,
    dataset: e.dataset,
    fields: e.fields,
    rows: e.rows === null ? null : Number(e.rows),
    grantId: e.grantId,
    requestId: e.requestId,
    domainEventId: e.domainEventId === null ? null : Number(e.domainEventId),
    details: (e.details ?? {}) as Record<string, unknown>,
    hashAlg: e.hashAlg as AuditEventView['hashAlg'],
    prevHash: e.prevHash,
    hash: e.hash
  }
}

export function toCheckpointView (c: CheckpointRow) {
  return { ...c, seq: Number(c.seq), hashAlg: c.hashAlg as 'sha256' | 'sm3', algorithm: c.algorithm as 'EdDSA' | 'ES256' }
}
