import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { INTEGER_KEY, keysetPage } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { canSee } from '../datasets/access.js'
import { createDatasetRepository } from '../datasets/repository.js'
import { DatasetParamsSchema } from '../datasets/schemas.js'
import { DatasetNotFoundError } from '../errors.js'
import { OpenReviewForbiddenError } from './errors.js'
import { createOpenReviewRepository, openStateOf } from './repository.js'
import { ListRoundsQuerySchema, OpenReviewBodySchema, ReviewOutcomeSchema, RoundPageSchema } from './schemas.js'
import { createOpenReviewService } from './service.js'
import { toReviewView, toRoundView, toStateView } from './views.js'

const tags = ['open-data']
const reviewers = { roles: ['steward', 'security_admin', 'leadership'] } as const
const readers = { roles: ['steward', 'security_admin', 'leadership', 'auditor'] } as const

/** The office, the auditors and the leading group read every dataset's rounds; a steward its own unit's. */
function canRead (principal: Principal, dataset: Dataset): boolean {
  return principal.roles.some((r) => r === 'security_admin' || r === 'auditor' || r === 'leadership') ||
    (principal.roles.includes('steward') && principal.unit === dataset.producer_unit)
}

/**
 * The three-level confidentiality review (R8.3, 001 §46, §58) that puts a dataset into the open
 * catalog: the producer unit's steward, then the office, then the leading group, in one round.
 */
export const openReviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const datasets = createDatasetRepository(app.db)
  const reviews = createOpenReviewRepository(app.db)
  const service = createOpenReviewService(app.db)

  app.post('/datasets/:code/open-reviews', {
    config: { access: reviewers },
    schema: {
      tags,
      summary: 'Review a dataset for the open catalog',
      description: 'Records the caller\'s review at its level: 1 a steward of the producer unit, 2 the office (`security_admin`), ' +
        '3 the leading group (`leadership`). Levels review in order within a round (409 naming the level still missing), each ' +
        'once (409), each by a different person (403). A level-1 approval with no round under review starts a new round; a ' +
        'rejection (which needs a `reason`) closes the round; the level-3 approval puts the dataset into the open catalog. Only a ' +
        'published dataset whose open attribute is unconditional or conditional can be reviewed (409 otherwise).',
      operationId: 'reviewOpenDataset',
      params: DatasetParamsSchema,
      body: OpenReviewBodySchema,
      response: { 201: ReviewOutcomeSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const principal = request.principal!
    const { decision } = request.body
    const reason = request.body.reason ?? null
    if (decision === 'reject' && reason === null) throw new FieldError('reason', 'a rejection states its reason')
    const code = request.params.code
    const outcome = await service.review(code, decision, reason, principal, String(request.id))
    return reply.code(201).send({
      dataset: code,
      review: toReviewView(outcome.review),
      round: toRoundView(outcome.round, outcome.reviews),
      openCatalog: toStateView(outcome.state)
    })
  })

  app.get('/datasets/:code/open-reviews', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List a dataset\'s open-catalog review rounds',
      description: 'The review rounds of the dataset, newest first, each with its reviews and the level it waits for, and ' +
        'whether the dataset is in the open catalog now (and if not, why). A steward reads its own unit\'s datasets only (403 ' +
        'otherwise); the office, auditors and the leading group every dataset\'s.',
      operationId: 'listOpenReviews',
      params: DatasetParamsSchema,
      querystring: ListRoundsQuerySchema,
      response: { 200: RoundPageSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const principal = request.principal!
    const { code } = request.params
    const dataset = await datasets.find(code)
    if (!dataset || !canSee(principal, dataset)) throw new DatasetNotFoundError(code)
    if (!canRead(principal, dataset)) {
      throw new OpenReviewForbiddenError(`only a steward of the producer unit ${dataset.producer_unit}, the office, auditors and the leading group read these reviews`)
    }
    const { page, nextCursor } = await keysetPage(request.query, {
      key: INTEGER_KEY, as: 'before', fetch: (p) => reviews.rounds(code, p), keyOf: (r) => [r.round]
    })
    const all = await reviews.reviewsOf(page.map((r) => r.id))
    return {
      dataset: code,
      openCatalog: toStateView(await openStateOf(app.db, dataset)),
      data: page.map((r) => toRoundView(r, all)),
      nextCursor
    }
  })
}
