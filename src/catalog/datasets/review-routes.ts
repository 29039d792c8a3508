import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { toDatasetView } from './repository.js'
import { createGradingReview } from './review.js'
import { DatasetParamsSchema, DatasetSchema, GradingReviewSchema } from './schemas.js'

/** The office's grading review of a dataset (001 §8(1), §39; R3.2). */
export const gradingReviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const review = createGradingReview(app.db)

  app.post('/datasets/:code/grading-review', {
    config: { access: { roles: ['security_admin'] } },
    schema: {
      tags: ['datasets'],
      summary: 'Confirm or reject a dataset\'s grading',
      description: 'Only the office (security_admin). Decides what the producer proposed: a draft\'s grade, national grade, share and ' +
        'open attributes, personal information and collection record, or the changes of a published dataset that loosen ' +
        'protection and wait meanwhile. `confirm` may raise the grade or tighten the attributes (a lower grade or looser ' +
        'attribute than proposed is a 400 naming it); a dataset holding personal information needs its collection record ' +
        '(method, channel, scope, frequency, legalBasis, rules, riskAssessment), sensitive or children\'s personal information ' +
        'also `necessityAssessment` and `collectiveDecision` (400 naming the missing part). `reject` needs a reason; a ' +
        'published dataset\'s waiting changes are dropped, and it stays under its confirmed terms. A draft publishes only once ' +
        'confirmed; nothing awaiting a decision is a 409.',
      operationId: 'reviewDatasetGrading',
      params: DatasetParamsSchema,
      body: GradingReviewSchema,
      response: { 200: DatasetSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    return toDatasetView(await review.decide(request.params.code, request.body, request.principal!, String(request.id)))
  })
}
