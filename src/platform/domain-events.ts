import type { FastifyRequest } from 'fastify'
import type { Kysely, Transaction } from 'kysely'
import type { Database } from '../db/database.js'
import type { Principal } from './auth/plugin.js'
import type { DomainAction } from './audit-actions.js'
import { recordEvent, type DomainEventInput } from './events.js'

/** Who acted, and in which request: a request (its principal and id), or both given. */
export type EventAuthor = FastifyRequest | { actor: Principal, requestId: string | null }

/** The object an event is about: its id, its dataset, and what every event about it says first. */
export interface EventObject {
  id: string
  dataset?: string | null
  details?: Record<string, unknown>
}

/**
 * Writes a domain event about one object in the caller's transaction (recordEvent): the change and
 * its record commit or roll back together, and the audit relay chains it. `V` narrows the verbs a
 * caller may write (`const event: DomainEventWriter<Row, 'system.register' | …> = domainEvents(…)`).
 */
export type DomainEventWriter<O, V extends DomainAction = DomainAction> = (
  trx: Kysely<Database> | Transaction<Database>,
  by: EventAuthor,
  /** dotted verb: `unit.create`, `share_request.approve` (its last word gives the audit action) */
  action: V,
  object: O,
  details: Record<string, unknown>
) => Promise<void>

interface DomainEventSpec {
  service: DomainEventInput['service']
  objectType: string
}

/**
 * The domain events of one kind of object, e.g. `domainEvents({ service: 'catalog', objectType: 'unit' })`.
 * Without `about` the object is its id; with it, `about` says the object's id, its dataset and
 * the details every event about it carries (the caller's details follow and may override them).
 */
export function domainEvents (spec: DomainEventSpec): DomainEventWriter<string>
export function domainEvents<O> (spec: DomainEventSpec & { about: (object: O) => EventObject }): DomainEventWriter<O>
export function domainEvents<O> ({ service, objectType, about }: DomainEventSpec & { about?: (object: O) => EventObject }): DomainEventWriter<O> {
  return async (trx, by, action, object, details) => {
    const { id, dataset, details: common } = about ? about(object) : { id: object as string }
    const { actor, requestId } = 'actor' in by ? by : { actor: by.principal!, requestId: String(by.id) }
    await recordEvent(trx, {
      service,
      action,
      actor,
      objectType,
      objectId: id,
      dataset: dataset ?? null,
      requestId,
      details: common ? { ...common, ...details } : details
    })
  }
}
