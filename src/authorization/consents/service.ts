import type { Kysely } from 'kysely'
import type { ValidateFunction } from 'ajv'
import { domainEvents } from '../../platform/domain-events.js'
import type { Consent, Database } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { validatorCompiler } from '../../platform/compilers.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { ConsentForbiddenError, ConsentNotFoundError, ConsentWithdrawnError } from './errors.js'
import { createConsentChecker } from './recording.js'
import { createConsentRepository, type NewConsent } from './repository.js'
import { CreateConsentSchema, type ConsentBatchResult, type CreateConsent, type ListConsentsQuery } from './schemas.js'
import { effectiveStatus } from './view.js'

type Rejection = ConsentBatchResult['rejected'][number]

// never the person key in an event (personal data): the consent id stands for it
const event = domainEvents({ service: 'authorization', objectType: 'consent', about: (c: Consent) => ({ id: c.id, dataset: c.dataset_code }) })

/** The unit whose consents the caller sees, or null for every unit (the office and auditors). */
export function readScope (p: Principal): string | null {
  return p.roles.includes('security_admin') || p.roles.includes('auditor') ? null : p.unit
}

/** The unit whose consents the caller may withdraw, or null for every unit (the office). */
function writeScope (p: Principal): string | null {
  return p.roles.includes('security_admin') ? null : p.unit
}

let validateOne: ValidateFunction | undefined

/** A batch item against the single consent's schema: its problems as {field, message}. */
function schemaErrors (item: unknown): Rejection['errors'] {
  validateOne ??= validatorCompiler()({ schema: CreateConsentSchema, httpPart: 'body' })
  if (validateOne(item)) return []
  return (validateOne.errors ?? []).map((e) => {
    const params = e.params as Record<string, unknown>
    const path = e.instancePath.split('/').filter(Boolean)
    if (typeof params.missingProperty === 'string') return { field: [...path, params.missingProperty].join('.'), message: 'is required' }
    if (typeof params.additionalProperty === 'string') return { field: [...path, params.additionalProperty].join('.'), message: 'is not a known field' }
    return { field: path.join('.') || 'consent', message: e.message ?? 'is invalid' }
  })
}

/**
 * Personal-information consents (R9.1–R9.3): the producer unit of a dataset (or the office) records
 * the consents persons gave it, per purpose. A withdrawal or an expiry takes the person's rows out of
 * every grant resting on consent at the next read (the data path checks consents in its query); no
 * grant is suspended.
 */
export function createConsentService (db: Kysely<Database>) {
  const consents = createConsentRepository(db)

  return {
    async record (input: CreateConsent, actor: Principal, requestId: string): Promise<Consent> {
      return await db.transaction().execute(async (trx) => {
        const c = await consents.insert(await createConsentChecker(trx, actor)(input), trx)
        await event(trx, { actor, requestId }, 'consent.record', c, {
          unit: c.unit_code, kind: c.kind, purposeCode: c.purpose_code, purpose: c.purpose, givenAt: c.given_at.toISOString(), expiresAt: c.expires_at?.toISOString() ?? null
        })
        return c
      })
    },

    /**
     * Up to MAX_CONSENT_BATCH consents, each checked as a single one would be; the valid ones are
     * recorded in one transaction with one event for the batch, the others listed with their reasons.
     */
    async recordBatch (items: readonly unknown[], actor: Principal, requestId: string): Promise<ConsentBatchResult> {
      return await db.transaction().execute(async (trx) => {
        const check = createConsentChecker(trx, actor)
        const valid: NewConsent[] = []
        const rejected: Rejection[] = []
        for (const [index, item] of items.entries()) {
          const errors = schemaErrors(item)
          if (errors.length === 0) {
            try {
              valid.push(await check(item as CreateConsent))
              continue
            } catch (err) {
              if (err instanceof FieldError) errors.push({ field: err.field, message: err.message.slice(err.field.length + 2) })
              else if (err instanceof ConsentForbiddenError) errors.push({ field: 'dataset', message: err.message })
              else throw err
            }
          }
          rejected.push({ index, errors })
        }
        const inserted = await consents.insertMany(valid, trx)
        const tally = (pick: (c: NewConsent) => string) => {
          const counts: Record<string, number> = {}
          for (const c of valid) counts[pick(c)] = (counts[pick(c)] ?? 0) + 1
          return counts
        }
        await recordEvent(trx, {
          service: 'authorization',
          action: 'consent.record_batch',
          actor,
          objectType: 'consent_batch',
          objectId: requestId,
          requestId,
          details: { received: items.length, accepted: inserted, rejected: rejected.length, datasets: tally((c) => c.dataset_code!), purposes: tally((c) => c.purpose_code), kinds: tally((c) => c.kind) }
        })
        return { accepted: inserted, rejected }
      })
    },

    /** The consent, if the caller's unit may see it; others' are 404. */
    async get (id: string, actor: Principal): Promise<Consent> {
      const c = await consents.find(id)
      const scope = readScope(actor)
      if (!c || (scope !== null && c.unit_code !== scope)) throw new ConsentNotFoundError(id)
      return c
    },

    /** `limit` rows (newest first) of the consents the caller sees: a page and one more. */
    async list (query: Omit<ListConsentsQuery, 'cursor'> & { beforeSeq?: string }, actor: Principal, now: Date): Promise<Consent[]> {
      const scope = readScope(actor)
      // a unit filter never widens what a unit sees
      if (scope !== null && query.unit !== undefined && query.unit !== scope) return []
      const unit = scope ?? query.unit
      return await consents.list({
        limit: query.limit,
        now,
        ...(unit !== undefined ? { unit } : {}),
        ...(query.beforeSeq !== undefined ? { beforeSeq: query.beforeSeq } : {}),
        ...(query.person !== undefined ? { person: query.person } : {}),
        ...(query.dataset !== undefined ? { dataset: query.dataset } : {}),
        ...(query.purposeCode !== undefined ? { purposeCode: query.purposeCode } : {}),
        ...(query.kind !== undefined ? { kind: query.kind } : {}),
        ...(query.status !== undefined ? { status: query.status } : {})
      })
    },

    /**
     * Withdraws the consent, with its row locked (a second withdrawal waits, then finds it withdrawn:
     * 409). An expired consent may still be withdrawn: the person's decision is recorded all the same.
     * Grants are left as they are: the data path stops serving the person's rows at the next read.
     */
    async withdraw (id: string, reason: string, actor: Principal, requestId: string): Promise<Consent> {
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
        await event(trx, { actor, requestId }, 'consent.withdraw', consent, {
          unit: consent.unit_code,
          reason,
          before: { status: effectiveStatus(before) },
          after: { status: 'withdrawn' }
        })
        return consent
      })
    }
  }
}

export type ConsentService = ReturnType<typeof createConsentService>
