import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ShareRequest } from '../../db/database.js'
import { keysetPage, SEQ_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { ShareRequestNotFoundError } from '../errors.js'
import { unitScope } from '../visibility.js'
import { createShareRequestRepository } from './repository.js'
import { canSeeRequest } from './review-workflow.js'
import {
  CommitmentBodySchema, CreateShareRequestSchema, IdParamsSchema, ListShareRequestsQuerySchema, ReviewSchema,
  ShareRequestPageSchema, ShareRequestSchema, WithdrawalBodySchema
} from './schemas.js'
import { createShareRequestService } from './service.js'
import { toShareRequestView } from './view.js'

const tags = ['share-requests']
const members = { roles: ['consumer', 'steward'] } as const
const readers = { roles: ['consumer', 'steward', 'security_admin', 'auditor', 'leadership'] } as const

/** Share requests (共享申请) and their review workflow (R7.1–R7.8). */
export const shareRequestRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const requests = createShareRequestRepository(app.db)
  const service = createShareRequestService(app.db, app.config, app.encryption)

  async function views (rows: ShareRequest[]) {
    const ids = rows.map((r) => r.id)
    const [reviews, links] = await Promise.all([requests.reviewsOf(ids), requests.linksOf(ids)])
    return rows.map((r) => toShareRequestView(r, reviews, links.get(r.id)!))
  }
  const view = async (row: ShareRequest) => (await views([row]))[0]!

  app.post('/share-requests', {
    config: { access: members },
    schema: {
      tags,
      summary: 'File a share request',
      description: 'A consumer unit asks for the fields it needs of another unit\'s published dataset (minimum necessary, R7.5), with a row filter, ' +
        'purpose, legal basis, access modes, validity and expected daily volume. The dataset\'s share attribute decides the workflow: ' +
        '`none` is rejected at once with the reason; `unconditional` is approved by rule, unless a third party analyses it, it is exported or it covers ' +
        '200,000 persons or more (then the office reviews); `conditional` basic personnel data goes to the office alone; ' +
        'other conditional data to the producer\'s steward and the office, then a tripartite agreement. Data provided outside the university ' +
        '(`external`, with its `recipient`) is reviewed by the producer\'s steward, then the office, then the leading group, and never includes children\'s ' +
        'personal information. `renews` names a live grant of your unit on the dataset that the new grant continues: it ends the day before the new one starts; ' +
        'a grant has one renewal pending, approved or granted at a time (409 `AUTHZ_RENEWAL_OPEN`). ' +
        'Every grant also needs the usage commitment.',
      operationId: 'createShareRequest',
      body: CreateShareRequestSchema,
      response: { 201: ShareRequestSchema, ...problems(...AUTHENTICATED_PROBLEMS, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const row = await service.create(request.body, request.principal!, String(request.id))
    return reply.code(201).send(await view(row))
  })

  app.get('/share-requests', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List share requests',
      description: 'Newest first. A unit sees the requests it filed and, for its stewards, those on its datasets; the office and auditors see all; ' +
        'the leading group also sees every request that provides data outside the university. ' +
        '`overdue=true` lists pending requests past their review deadline (R7.8).',
      operationId: 'listShareRequests',
      querystring: ListShareRequestsQuerySchema,
      response: { 200: ShareRequestPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, role, ...filter } = request.query
    const principal = request.principal!
    const { page, nextCursor } = await keysetPage({ limit, cursor }, {
      key: SEQ_KEY,
      as: 'beforeSeq',
      fetch: (p) => requests.list(unitScope(principal), {
        ...filter,
        ...p,
        leadership: principal.roles.includes('leadership'),
        ...(role === 'consumer' ? { consumerUnit: principal.unit } : role === 'producer' ? { producerUnit: principal.unit } : {})
      }),
      keyOf: (r) => [r.seq]
    })
    return { data: await views(page), nextCursor }
  })

  app.get('/share-requests/:id', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get a share request',
      description: 'The request with its reviews, commitment, agreement and grant. Other units\' requests are 404.',
      operationId: 'getShareRequest',
      params: IdParamsSchema,
      response: { 200: ShareRequestSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await requests.find(request.params.id)
    if (!row || !canSeeRequest(request.principal!, row)) throw new ShareRequestNotFoundError(request.params.id)
    return await view(row)
  })

  app.post('/share-requests/:id/reviews', {
    config: { access: { roles: ['steward', 'security_admin', 'leadership'] } },
    schema: {
      tags,
      summary: 'Review a share request',
      description: 'The producer unit\'s steward or the office (security_admin) approves or rejects; a rejection states its reason (R7.1). ' +
        'Each reviewer decides once (409 the second time); a request whose period has ended cannot be approved (409). ' +
        'The office records the collective decision for sensitive personal information (R9.2), the authority\'s approval for 200,000 persons or more (R9.4), ' +
        'and may approve unmasked access for a named reason, never for a third party (R7.6). When every approval is in, a conditional ' +
        'non-personnel request gets its tripartite agreement. Data provided outside the university is reviewed in order: the producer, then the office, ' +
        'then the leading group (`party: leadership`, a `leadership` token; 001 §58), each by a different person; a review out of turn is 409 ' +
        '`AUTHZ_REVIEW_OUT_OF_ORDER` naming who reviews first.',
      operationId: 'reviewShareRequest',
      params: IdParamsSchema,
      body: ReviewSchema,
      response: { 200: ShareRequestSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => await view(await service.review(request.params.id, request.body, request.principal!, String(request.id))))

  app.post('/share-requests/:id/commitment', {
    config: { access: members },
    schema: {
      tags,
      summary: 'Sign the usage commitment',
      description: 'The consumer unit signs the usage commitment (数据使用承诺书, R7.4); its text is stored with SHA-256 and SM3 digests, signer and time. ' +
        'No grant activates without it.',
      operationId: 'signShareRequestCommitment',
      params: IdParamsSchema,
      body: CommitmentBodySchema,
      response: { 200: ShareRequestSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => await view(await service.commit(request.params.id, request.principal!, String(request.id))))

  app.post('/share-requests/:id/withdrawal', {
    config: { access: members },
    schema: {
      tags,
      summary: 'Withdraw a share request',
      description: 'The consumer unit takes back a request that has no grant yet; a pending agreement is voided.',
      operationId: 'withdrawShareRequest',
      params: IdParamsSchema,
      body: WithdrawalBodySchema,
      response: { 200: ShareRequestSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => await view(await service.withdraw(request.params.id, request.body.reason, request.principal!, String(request.id))))
}
