import type { Kysely } from 'kysely'
import type { Database, OpenReview, OpenReviewRound } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { domainEvents } from '../../platform/domain-events.js'
import { canSee } from '../datasets/access.js'
import { createDatasetRepository } from '../datasets/repository.js'
import { datasetEvent } from '../datasets/service.js'
import { DatasetNotFoundError } from '../errors.js'
import { awaitedLevel, checkDistinctReviewer, checkOpenable, checkReviewer, chooseLevel, LEVELS, levelsOf } from './levels.js'
import type { OpenState } from './open-state.js'
import { createOpenReviewRepository, openStateOf } from './repository.js'
import type { OpenReviewBody } from './schemas.js'

const roundEvent = domainEvents({
  service: 'catalog', objectType: 'open_review_round', about: (r: OpenReviewRound) => ({ id: r.id, dataset: r.dataset_code })
})

/** A review recorded: the review, its round after it (with every review of the round), and the dataset's open state. */
export interface ReviewOutcome {
  review: OpenReview
  round: OpenReviewRound
  reviews: OpenReview[]
  state: OpenState
}

/** The open-catalog reviews (R8.3) as reviewers record them: each with its events, in one transaction. */
export function createOpenReviewService (db: Kysely<Database>) {
  const datasets = createDatasetRepository(db)
  const reviews = createOpenReviewRepository(db)
  return {
    /**
     * The caller's review at its level: a level-1 approval with no round under review starts one, a
     * rejection closes the round, the level-3 approval opens the dataset. A rejection has a reason.
     */
    async review (code: string, decision: OpenReviewBody['decision'], reason: string | null, actor: Principal, requestId: string): Promise<ReviewOutcome> {
      return await db.transaction().execute(async (trx) => {
        // the dataset's row lock serialises the reviews of one dataset
        const dataset = await datasets.findForUpdate(code, trx)
        if (!dataset || !canSee(actor, dataset)) throw new DatasetNotFoundError(code)
        const held = levelsOf(actor, dataset)
        checkReviewer(held, dataset)
        checkOpenable(dataset)
        const current = await reviews.current(code, trx)
        const before = current ? await reviews.reviewsOf([current.id], trx) : null
        const level = chooseLevel(held, awaitedLevel(before), current?.round ?? null)
        checkDistinctReviewer(actor, before ?? [])
        let round = current ?? await reviews.startRound(code, actor.sub, trx)
        const review = await reviews.addReview({ roundId: round.id, level, decision, reason, reviewer: actor }, trx)
        await roundEvent(trx, { actor, requestId }, `open_review.${decision}`, round, {
          round: round.round, level, role: LEVELS[level].role, ...(reason !== null ? { reason } : {})
        })
        if (decision === 'reject') {
          round = await reviews.close(round.id, { status: 'rejected' }, trx)
        } else if (level === 3) {
          round = await reviews.close(round.id, { status: 'approved', dataset }, trx)
          await datasetEvent(trx, { actor, requestId }, 'dataset.open', code, {
            round: round.round, openAttribute: dataset.open_attribute, gradeVersion: dataset.grade_version
          })
        }
        return { review, round, reviews: [...before ?? [], review], state: await openStateOf(trx, dataset) }
      })
    }
  }
}
