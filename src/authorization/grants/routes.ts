import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { decodeCursor, paginate } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { IdParamsSchema } from '../share-requests/schemas.js'
import { unitScope } from '../visibility.js'
import { createGrantRepository } from './repository.js'
import { GrantPageSchema, GrantSchema, ListGrantsQuerySchema, RevokeBodySchema } from './schemas.js'
import { createGrantService, toGrantView } from './service.js'

const tags = ['grants']
const readers = { roles: ['consumer', 'steward', 'security_admin', 'auditor'] } as const

/** Grants (授权): listed to their holders, producers, the office and auditors; revoked by the office or the producer. */
export const grantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const grants = createGrantRepository(app.db)
  const service = createGrantService(app.db)

  app.get('/grants', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List grants',
      description: 'Newest first. A unit sees the grants it holds and, for its stewards, those on its datasets; the office and auditors see all. ' +
        '`status=expired` lists live grants past their end date.',
      operationId: 'listGrants',
      querystring: ListGrantsQuerySchema,
      response: { 200: GrantPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query
    const beforeSeq = cursor === undefined ? undefined : String(decodeCursor(cursor, 1)[0])
    const rows = await grants.list(unitScope(request.principal!), { ...filter, limit: limit + 1, ...(beforeSeq !== undefined ? { beforeSeq } : {}) })
    const { page, nextCursor } = paginate(rows, limit, (g) => [g.seq])
    return { data: page.map(toGrantView), nextCursor }
  })

  app.get('/grants/:id', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get a grant',
      description: 'One grant; other units\' grants are 404.',
      operationId: 'getGrant',
      params: IdParamsSchema,
      response: { 200: GrantSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => toGrantView(await service.get(request.params.id, request.principal!)))

  app.post('/grants/:id/revoke', {
    config: { access: { roles: ['steward', 'security_admin'] } },
    schema: {
      tags,
      summary: 'Revoke a grant',
      description: 'Ends the grant at once, with the reason recorded; the data path refuses it from then on. The office, or a steward of the producer unit. ' +
        'Revoking twice is 409.',
      operationId: 'revokeGrant',
      params: IdParamsSchema,
      body: RevokeBodySchema,
      response: { 200: GrantSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => toGrantView(await service.revoke(request.params.id, request.body.reason, request.principal!, String(request.id))))
}
