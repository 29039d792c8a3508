import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { FieldError } from '../../platform/errors.js'
import { keysetPage, SEQ_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { OpenRequestNotFoundError } from './errors.js'
import { receiptMatches } from './receipt.js'
import { createOpenRequestRepository, openRequestScope } from './repository.js'
import {
  CreatedOpenRequestSchema, CreateOpenRequestSchema, ListOpenRequestsQuerySchema, OpenRequestPageSchema, OpenRequestParamsSchema, OpenRequestReviewSchema, OpenRequestSchema,
  OpenRequestStatusSchema, StatusQuerySchema
} from './schemas.js'
import { decideOpenRequest, fileOpenRequest, visibleOpenRequest } from './filing.js'
import { campusToday } from '../../platform/calendar.js'
import { toCreatedView, toOpenRequestView, toStatusView } from './views.js'

const tags = ['open-data']
const readers = { roles: ['security_admin', 'auditor', 'steward'] } as const

/**
 * Requests for conditional-open data (有条件开放, R8.2, 001 §44(2)) from outside applicants, who hold
 * no campus token: they file and follow their request with a receipt; the data-management office
 * decides, with conditions and a validity. Serving approved applicants their data is a later issue.
 */
export const openRequestRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const requests = createOpenRequestRepository(app.db)

  app.post('/open-requests', {
    config: {
      access: 'public',
      // filing writes on behalf of nobody in particular: a tighter per-address limit than the API's
      rateLimit: { max: Math.max(1, Math.ceil(app.config.RATE_LIMIT_MAX / 20)), timeWindow: app.config.RATE_LIMIT_WINDOW_MS }
    },
    schema: {
      tags,
      summary: 'Apply for conditional-open data (no token)',
      description: 'An outside applicant (citizen, company or other organisation) applies for a dataset that is in the open ' +
        'catalog as conditional open, stating who it is, its qualification, purpose, fields and scope of use (R8.2). The answer ' +
        'holds a `receipt`, shown this once, to follow the request with (`GET /api/v1/open-requests/{id}/status?receipt=…`). ' +
        'A dataset that is not conditional-open in the open catalog, or an unknown field, is a 400 naming it.',
      operationId: 'createOpenRequest',
      body: CreateOpenRequestSchema,
      response: { 201: CreatedOpenRequestSchema, ...problems(400, 413, 415, 429, 503) }
    }
  }, async (request, reply) => {
    const { row, receipt } = await fileOpenRequest(app.db, request.body, String(request.id))
    return reply.code(201).send(toCreatedView(row, receipt))
  })

  app.get('/open-requests/:id/status', {
    config: { access: 'public' },
    schema: {
      tags,
      summary: 'Follow an open request (no token)',
      description: 'Where the request stands, for the applicant holding its receipt: status, the office\'s reason, conditions and ' +
        'validity. An unknown id and a wrong receipt are the same 404.',
      operationId: 'getOpenRequestStatus',
      params: OpenRequestParamsSchema,
      querystring: StatusQuerySchema,
      response: { 200: OpenRequestStatusSchema, ...problems(400, 404, 429, 503) }
    }
  }, async (request) => {
    const row = await requests.find(request.params.id)
    if (!row || !receiptMatches(request.query.receipt, row.receipt_sha256)) throw new OpenRequestNotFoundError(request.params.id)
    const [review] = await requests.reviewsOf([row.id])
    return toStatusView(row, review)
  })

  app.get('/open-requests', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List open requests',
      description: 'Open requests, newest first, cursor-paginated; filters `status` and `dataset`. The office and auditors see ' +
        'every request; a steward those on its unit\'s datasets.',
      operationId: 'listOpenRequests',
      querystring: ListOpenRequestsQuerySchema,
      response: { 200: OpenRequestPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { status, dataset } = request.query
    const { page, nextCursor } = await keysetPage(request.query, {
      key: SEQ_KEY,
      as: 'beforeSeq',
      fetch: (p) => requests.list(openRequestScope(request.principal!), { ...p, ...(status ? { status } : {}), ...(dataset ? { dataset } : {}) }),
      keyOf: (r) => [r.seq]
    })
    const reviews = await requests.reviewsOf(page.map((r) => r.id))
    const today = campusToday()
    return { data: page.map((r) => toOpenRequestView(r, reviews.find((v) => v.open_request_id === r.id), today)), nextCursor }
  })

  app.get('/open-requests/:id', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get an open request',
      description: 'The request with its applicant and the office\'s decision. A steward sees those on its unit\'s datasets only (404 otherwise).',
      operationId: 'getOpenRequest',
      params: OpenRequestParamsSchema,
      response: { 200: OpenRequestSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await visibleOpenRequest(app.db, request.params.id, request.principal!)
    const [review] = await requests.reviewsOf([row.id])
    return toOpenRequestView(row, review)
  })

  app.post('/open-requests/:id/reviews', {
    config: { access: { roles: ['security_admin'] } },
    schema: {
      tags,
      summary: 'Decide an open request',
      description: 'The office approves, with the `conditions` the applicant must keep and `validUntil` (default one year), or ' +
        'rejects with a `reason`. A request is decided once (409 after). Approving needs the dataset to be conditional-open in ' +
        'the open catalog still (409 otherwise).',
      operationId: 'reviewOpenRequest',
      params: OpenRequestParamsSchema,
      body: OpenRequestReviewSchema,
      response: { 201: OpenRequestSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const { decision, reason, conditions, validUntil } = request.body
    if (decision === 'reject') {
      if (reason === undefined) throw new FieldError('reason', 'a rejection states its reason, which the applicant is told')
      if (conditions !== undefined) throw new FieldError('conditions', 'only an approval carries conditions')
      if (validUntil !== undefined) throw new FieldError('validUntil', 'only an approval has a validity')
    }
    if (validUntil !== undefined && validUntil < campusToday()) throw new FieldError('validUntil', 'must be today or later')
    const { row, review } = await decideOpenRequest(app.db, request.params.id, request.body, request.principal!, String(request.id))
    return reply.code(201).send(toOpenRequestView(row, review))
  })
}
