import type { Kysely, Transaction } from 'kysely'
import { domainEvents } from '../../platform/domain-events.js'
import type { Database, Destruction } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { canSee, isProducer } from '../datasets/access.js'
import { createDatasetRepository } from '../datasets/repository.js'
import { DatasetStateError, NotProducerError } from '../errors.js'
import type { Encryption } from '../encryption/plugin.js'
import { retentionCutoff } from '../quality/report.js'
import {
  DestructionForbiddenError, DestructionNotFoundError, DestructionReviewedError, DestructionStateError
} from './errors.js'
import { createDestructionRepository } from './repository.js'
import type { CreateDestruction, DestructionReviewBody } from './schemas.js'
import { checkDuties } from './duties.js'
import { blindFor } from '../encryption/filter.js'
import { checkFilter, scopePredicate } from './scope.js'
import { canSeeDestruction } from './view.js'

type Trx = Transaction<Database>
type Party = 'producer' | 'office'
const PARTIES: readonly Party[] = ['producer', 'office']

export const destructionEvent = domainEvents({
  service: 'catalog', objectType: 'destruction', about: (d: Destruction) => ({ id: d.id, dataset: d.dataset_code })
})

function isOpenExpiredConflict (err: unknown): boolean {
  const e = err as { code?: string, constraint?: string, message?: string }
  return e.code === '23505' && (e.constraint === 'destructions_open_expired_key' || (e.message ?? '').includes('destructions_open_expired_key'))
}

/** Which reviewer the caller is: the office (security_admin) or a steward of the producer unit. */
function partyOf (actor: Principal, d: Destruction, asked?: Party): Party {
  const can = { office: actor.roles.includes('security_admin'), producer: actor.roles.includes('steward') && actor.unit === d.producer_unit }
  const party = asked ?? (can.office ? 'office' : 'producer')
  if (!can[party]) {
    throw new DestructionForbiddenError(party === 'office'
      ? 'only the data-management office (security_admin) reviews as the office'
      : `only a steward of the producer unit ${d.producer_unit} reviews as the producer`)
  }
  return party
}

/**
 * Proposals, reviews and the witness of destructions (R10.2: approved, recorded, supervised).
 * Execution is in execute.ts. Every step records its domain event in its own transaction.
 */
export function createDestructionWorkflow (db: Kysely<Database>, encryption: Encryption) {
  const repo = createDestructionRepository(db)
  const datasets = createDatasetRepository(db)

  /** A destruction the caller may see, locked for a change; others' are 404. */
  async function load (id: string, actor: Principal, trx: Trx): Promise<Destruction> {
    const d = await repo.find(id, trx, { lock: true })
    if (!d || !canSeeDestruction(actor, d)) throw new DestructionNotFoundError(id)
    return d
  }

  return {
    load,

    async propose (input: CreateDestruction, actor: Principal, requestId: string): Promise<Destruction> {
      const found = await datasets.find(input.dataset)
      if (!found || !canSee(actor, found)) throw new FieldError('dataset', `no dataset with code ${input.dataset}`)
      if (!actor.roles.includes('security_admin') && !isProducer(actor, found)) {
        throw new NotProducerError(`only the stewards of the producer unit ${found.producer_unit} or the office (security_admin) propose destroying ${found.code}`)
      }
      if (input.scope === 'filter' && input.filter === undefined) throw new FieldError('filter', 'is required with scope filter')
      if (input.scope !== 'filter' && input.filter !== undefined) throw new FieldError('filter', `only with scope filter (scope ${input.scope} needs none)`)
      const filter = input.filter === undefined ? null : checkFilter(input.filter, found)
      const blind = await blindFor(encryption, found, filter)
      try {
        return await db.transaction().execute(async (trx) => {
          // under the dataset's row lock, as ingest and execution take it: the count is of a settled set
          const dataset = (await datasets.findForUpdate(found.code, trx))!
          if (dataset.status === 'destroyed') throw new DatasetStateError(`dataset ${dataset.code} is already destroyed`)
          const cutoff = input.scope === 'expired' ? retentionCutoff(new Date(), dataset.retention_days) : null
          if (input.scope === 'expired') {
            const open = await repo.openExpired(dataset.code, trx)
            if (open) throw new DestructionStateError(`destruction ${open.id} of the expired records of ${dataset.code} is already open (${open.status})`)
          }
          const rows = await repo.countInScope(dataset.code, scopePredicate({ scope: input.scope, cutoff }, filter, dataset, blind), trx)
          if (input.scope === 'expired' && rows === 0) {
            throw new DestructionStateError(`no record of ${dataset.code} is past its retention period of ${dataset.retention_days} days`)
          }
          const d = await repo.insert({
            dataset_code: dataset.code,
            producer_unit: dataset.producer_unit,
            scope: input.scope,
            row_filter: filter === null ? null : JSON.stringify(filter),
            cutoff,
            reason: input.reason,
            rows_in_scope: rows,
            proposed_by: actor.sub,
            proposed_unit: actor.unit,
            proposed_client: actor.client ?? null
          }, trx)
          await destructionEvent(trx, { actor, requestId }, 'destruction.create', d, {
            scope: d.scope, filter, cutoff: cutoff?.toISOString() ?? null, rowsInScope: rows, reason: d.reason, status: d.status
          })
          return d
        })
      } catch (err) {
        // the retention sweep opened one at the same moment
        if (isOpenExpiredConflict(err)) throw new DestructionStateError(`a destruction of the expired records of ${found.code} is already open`)
        throw err
      }
    },

    /**
     * The producer's steward and the office each decide once, neither being the proposer nor the
     * other reviewer; both approvals make it `approved`, a rejection ends it.
     */
    async review (id: string, input: DestructionReviewBody, actor: Principal, requestId: string): Promise<Destruction> {
      return await db.transaction().execute(async (trx) => {
        const before = await load(id, actor, trx)
        if (before.status !== 'pending_review') throw new DestructionStateError(`the destruction is ${before.status}: there is nothing to review`)
        const party = partyOf(actor, before, input.party)
        const reviews = await repo.reviewsOf([id], trx)
        if (reviews.some((r) => r.party === party)) throw new DestructionReviewedError(`the ${party} has already reviewed this destruction`)
        checkDuties(before, reviews, actor, `${party} reviewer`)
        if (input.decision === 'reject' && !input.reason) throw new FieldError('reason', 'a rejection states its reason')
        await repo.addReview({
          destruction_id: id, party, decision: input.decision, reason: input.reason ?? null, reviewer_sub: actor.sub, reviewer_unit: actor.unit
        }, trx)
        const approved = new Set([...reviews.filter((r) => r.decision === 'approve').map((r) => r.party), ...(input.decision === 'approve' ? [party] : [])])
        const after = input.decision === 'reject'
          ? await repo.update(id, { status: 'rejected', decision_reason: `rejected by the ${party}: ${input.reason}` }, trx)
          : await repo.update(id, PARTIES.every((p) => approved.has(p)) ? { status: 'approved' } : {}, trx)
        await destructionEvent(trx, { actor, requestId }, `destruction.${input.decision}`, after, {
          party, reason: input.reason ?? null, before: { status: before.status }, after: { status: after.status }
        })
        return after
      })
    },

    /** A supervisor who holds no other part witnesses an approved destruction (R10.2, 004 §28–29). */
    async witness (id: string, note: string | undefined, actor: Principal, requestId: string): Promise<Destruction> {
      return await db.transaction().execute(async (trx) => {
        const before = await load(id, actor, trx)
        if (before.status === 'pending_review') throw new DestructionStateError('the destruction is not approved yet: the producer\'s steward and the office review it first')
        if (before.status === 'witnessed') throw new DestructionStateError(`the destruction was already witnessed by ${before.witness_sub}`)
        if (before.status !== 'approved') throw new DestructionStateError(`the destruction is ${before.status}: there is nothing to witness`)
        checkDuties(before, await repo.reviewsOf([id], trx), actor, 'witness')
        const after = await repo.update(id, {
          status: 'witnessed', witness_sub: actor.sub, witness_unit: actor.unit, witness_note: note ?? null, witnessed_at: new Date()
        }, trx)
        await destructionEvent(trx, { actor, requestId }, 'destruction.witness', after, {
          note: note ?? null, before: { status: before.status }, after: { status: after.status }
        })
        return after
      })
    }
  }
}

export type DestructionWorkflow = ReturnType<typeof createDestructionWorkflow>
