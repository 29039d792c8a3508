import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.js'
import type { DomainAction } from './audit-actions.js'
import type { Principal } from './auth/plugin.js'

type Db = Kysely<Database> | Transaction<Database>

export interface DomainEventInput {
  service: 'catalog' | 'authorization' | 'masking' | 'audit' | 'platform'
  /** dotted verb: `dataset.create`, `dataset.regrade`, `records.ingest`; its last word one of DOMAIN_VERBS */
  action: DomainAction
  actor: Principal
  objectType: string
  objectId: string
  dataset?: string | null
  requestId?: string | null
  /** what changed (before/after, counts); never raw personal data */
  details?: Record<string, unknown>
}

const listeners = new Set<() => void>()

/** Calls `listener` after each recordEvent of this process (the audit relay wakes on it). */
export function onDomainEvent (listener: () => void): () => void {
  listeners.add(listener)
  return () => { listeners.delete(listener) }
}

/**
 * Appends a domain event in the caller's transaction, so that a change and its record commit or
 * roll back together. The audit service chains these into the tamper-evident log.
 */
export async function recordEvent (db: Db, event: DomainEventInput): Promise<void> {
  await db.insertInto('domain_events').values({
    service: event.service,
    action: event.action,
    actor_sub: event.actor.sub,
    actor_unit: event.actor.unit,
    actor_client: event.actor.client ?? null,
    object_type: event.objectType,
    object_id: event.objectId,
    dataset_code: event.dataset ?? null,
    request_id: event.requestId ?? null,
    details: JSON.stringify(event.details ?? {})
  }).execute()
  for (const listener of listeners) listener()
}

/** The events about one object, oldest first (tests and the audit service read them). */
export async function eventsOf (db: Db, objectType: string, objectId: string) {
  return await db.selectFrom('domain_events').selectAll()
    .where('object_type', '=', objectType).where('object_id', '=', objectId)
    .orderBy('id').execute()
}
