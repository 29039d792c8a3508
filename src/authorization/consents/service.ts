import type { Kysely, Transaction } from 'kysely'
import { canSee } from '../../catalog/datasets/access.js'
import { createDatasetRepository } from '../../catalog/datasets/repository.js'
import { createUnitRepository } from '../../catalog/units/repository.js'
import type { Consent, Database, Grant } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { ConsentForbiddenError, ConsentNotFoundError, ConsentWithdrawnError } from './errors.js'
import { createConsentRepository } from './repository.js'
import { checkKind, checkPeriod } from './rules.js'
import type { CreateConsent, ListConsentsQuery } from './schemas.js'
import { effectiveStatus } from './view.js'

type Trx = Transaction<Database>

/** The unit whose consents the caller sees, or null for every unit (the office and auditors). */
export function readScope (p: Principal): string | null {
  return p.roles.includes('security_admin') || p.roles.includes('auditor') ? null : p.unit
}

/** The unit whose consents the caller may withdraw, or null for every unit (the office). */
function writeScope (p: Principal): string | null {
  return p.roles.includes('security_admin') ? null : p.unit
}

/** What a withdrawal changed: the consent and the grants that relied on it. */
export interface Withdrawal {
  consent: Consent
  suspended: Grant[]
}

/**
 * Personal-information consents (R9.1–R9.3): a unit records the consents it collected, and a
 * withdrawal suspends, in the same transaction, every grant that relied on the consent.
 */
export function createConsentService (db: Kysely<Database>) {
  const consents = createConsentRepository(db)
  const datasets = createDatasetRepository(db)
  const units = createUnitRepository(db)

  // never the person key in an event (personal data): the consent id stands for it
  async function event (trx: Trx, actor: Principal, requestId: string, action: string, c: Consent, details: Record<string, unknown>) {
    await recordEvent(trx, { service: 'authorization', action, actor, objectType: 'consent', objectId: c.id, dataset: c.dataset_code, requestId, details })
  }

  return {
    async record (input: CreateConsent, actor: Principal, requestId: string): Promise<Consent> {
      const { givenAt, expiresAt } = checkPeriod(input)
      return await db.transaction().execute(async (trx) => {
        const dataset = input.dataset === undefined ? null : await datasets.find(input.dataset, trx)
        if (input.dataset !== undefined && (!dataset || !canSee(actor, dataset))) {
          throw new FieldError('dataset', `no dataset with code ${input.dataset}`)
        }
        checkKind(input.kind, dataset)
        if (!await units.find(actor.unit, trx)) {
          throw new ConsentForbiddenError(`unit ${actor.unit} is not registered: consents are recorded for a registered unit`)
        }
        const c = await consents.insert({
          unit_code: actor.unit,
          person_key: input.person,
          dataset_code: dataset?.code ?? null,
          purpose: input.purpose,
          kind: input.kind,
          evidence: input.evidence,
          given_at: givenAt,
          expires_at: expiresAt,
          recorded_by: actor.sub
        }, trx)
        await event(trx, actor, requestId, 'consent.record', c, {
          unit: c.unit_code, kind: c.kind, purpose: c.purpose, givenAt: givenAt.toISOString(), expiresAt: expiresAt?.toISOString() ?? null
        })
        return c
      })
    },

    /** The consent, if the caller's unit may see it; others' are 404. */
    async get (id: string, actor: Principal): Promise<Consent> {
      const c = await consents.find(id)
      const scope = readScope(actor)
      if (!c || (scope !== null && c.unit_code !== scope)) throw new ConsentNotFoundError(id)
      return c
    },

    /** One page (limit + 1 rows, newest first) of the consents the caller sees. */
    async list (query: Omit<ListConsentsQuery, 'cursor'> & { beforeSeq?: string }, actor: Principal, now: Date): Promise<Consent[]> {
      const scope = readScope(actor)
      // a unit filter never widens what a unit sees
      if (scope !== null && query.unit !== undefined && query.unit !== scope) return []
      const unit = scope ?? query.unit
      return await consents.list({
        limit: query.limit + 1,
        now,
        ...(unit !== undefined ? { unit } : {}),
        ...(query.beforeSeq !== undefined ? { beforeSeq: query.beforeSeq } : {}),
        ...(query.person !== undefined ? { person: query.person } : {}),
        ...(query.dataset !== undefined ? { dataset: query.dataset } : {}),
        ...(query.kind !== undefined ? { kind: query.kind } : {}),
        ...(query.status !== undefined ? { status: query.status } : {})
      })
    },

    /**
     * Withdraws the consent and suspends every active grant relying on it, all in one transaction
     * with the consent's row locked (a second withdrawal waits, then finds it withdrawn: 409). An
     * expired consent may still be withdrawn: the person's decision is recorded all the same.
     */
    async withdraw (id: string, reason: string, actor: Principal, requestId: string): Promise<Withdrawal> {
      return await db.transaction().execute(async (trx) => {
        const before = await consents.find(id, trx, { lock: true })
        const read = readScope(actor)
        if (!before || (read !== null && before.unit_code !== read)) throw new ConsentNotFoundError(id)
        const write = writeScope(actor)
        if (write !== null && before.unit_code !== write) {
          throw new ConsentForbiddenError(`only the office or unit ${before.unit_code} withdraws this consent`)
        }
        if (before.status === 'withdrawn') throw new ConsentWithdrawnError(id)
        const consent = await consents.withdraw(id, reason, trx)
        const statusReason = `consent ${id} was withdrawn`
        const suspended = await consents.suspendGrantsRelyingOn(id, statusReason, actor.sub, trx)
        await event(trx, actor, requestId, 'consent.withdraw', consent, {
          unit: consent.unit_code,
          reason,
          before: { status: effectiveStatus(before) },
          after: { status: 'withdrawn' },
          suspendedGrants: suspended.map((g) => g.id)
        })
        for (const g of suspended) {
          await recordEvent(trx, {
            service: 'authorization',
            action: 'grant.suspend',
            actor,
            objectType: 'grant',
            objectId: g.id,
            dataset: g.dataset_code,
            requestId,
            details: { consent: id, reason: statusReason, consumerUnit: g.consumer_unit, before: { status: 'active' }, after: { status: 'suspended' } }
          })
        }
        return { consent, suspended }
      })
    }
  }
}

export type ConsentService = ReturnType<typeof createConsentService>
