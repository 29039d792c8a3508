import type { Kysely } from 'kysely'
import type { Database, Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { DatasetNotFoundError, DatasetStateError } from '../errors.js'
import { checkCollection } from './collection.js'
import { createDatasetRepository } from './repository.js'
import type { GradingReview } from './schemas.js'
import { createDatasetService } from './service.js'
import { attributeRank, gradeRank } from '../../platform/vocabulary.js'

/**
 * The office's grading review (001 §8(1), §39): a steward proposes a dataset's grade, attributes
 * and collection record, the office (security_admin) confirms them, raising the grade or tightening
 * the attributes if it sees fit, or rejects them with a reason. A draft's proposal is the draft
 * itself; a published dataset's is the `grading_proposal` its producer's loosening changes wait in.
 */
export function createGradingReview (db: Kysely<Database>) {
  const datasets = createDatasetRepository(db)
  const service = createDatasetService(db)

  /** The office may only tighten what was proposed. */
  function checkTightening (review: GradingReview, proposed: { grade: string, shareAttribute: string, openAttribute: string }) {
    if (review.grade !== undefined && gradeRank(review.grade) < gradeRank(proposed.grade)) {
      throw new FieldError('grade', `may only raise the proposed grade ${proposed.grade}; a lower grade is the producer's to propose`)
    }
    for (const key of ['shareAttribute', 'openAttribute'] as const) {
      const value = review[key]
      if (value !== undefined && attributeRank(value) < attributeRank(proposed[key])) {
        throw new FieldError(key, `may only tighten the proposed ${key} ${proposed[key]} (unconditional < conditional < none)`)
      }
    }
  }

  return {
    async decide (code: string, review: GradingReview, actor: Principal, requestId: string): Promise<Dataset> {
      if (review.decision === 'reject') {
        if (review.reason === undefined) throw new FieldError('reason', 'is required to reject: tell the producer what to change')
        const set = (['grade', 'shareAttribute', 'openAttribute'] as const).find((k) => review[k] !== undefined)
        if (set !== undefined) throw new FieldError(set, 'is given only with a confirmation')
      }
      return await db.transaction().execute(async (trx) => {
        const row = await datasets.findForUpdate(code, trx)
        if (!row) throw new DatasetNotFoundError(code)
        if (row.status === 'retired' || row.status === 'destroyed') throw new DatasetStateError(`dataset ${code} is ${row.status}; its grading is closed`)
        const pending = row.grading_proposal
        if (pending === null && !(row.status === 'draft' && row.grading_status !== 'confirmed')) {
          throw new DatasetStateError(`nothing of dataset ${code} awaits the office's decision: its terms are confirmed`)
        }
        const decided = { grading_decided_by: actor.sub, grading_decided_at: new Date(), grading_reason: review.reason ?? null, grading_proposal: null }
        const details = { decision: review.decision, reason: review.reason ?? null, proposal: pending?.changes ?? null }
        if (review.decision === 'reject') {
          const after = await datasets.update(code, { ...decided, grading_status: 'rejected' }, trx)
          await recordEvent(trx, { service: 'catalog', action: 'dataset.grading.reject', actor, objectType: 'dataset', objectId: code, dataset: code, requestId, details })
          return after
        }
        const proposed = pending?.changes ?? {}
        checkTightening(review, {
          grade: proposed.grade ?? row.grade, shareAttribute: proposed.shareAttribute ?? row.share_attribute, openAttribute: proposed.openAttribute ?? row.open_attribute
        })
        const office = Object.fromEntries((['grade', 'shareAttribute', 'openAttribute'] as const).filter((k) => review[k] !== undefined).map((k) => [k, review[k]]))
        const changes = { ...proposed, ...office, reason: review.reason ?? `confirmed by the office (${actor.sub})` }
        const terms = Object.keys(changes).length > 1 ? await service.apply(trx, row, changes, actor, requestId) : row
        checkCollection(terms)
        const after = await datasets.update(code, { ...decided, grading_status: 'confirmed' }, trx)
        await recordEvent(trx, {
          service: 'catalog',
          action: 'dataset.grading.confirm',
          actor,
          objectType: 'dataset',
          objectId: code,
          dataset: code,
          requestId,
          details: { ...details, office, grade: after.grade, shareAttribute: after.share_attribute, openAttribute: after.open_attribute }
        })
        return after
      })
    }
  }
}
