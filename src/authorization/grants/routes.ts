import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { keysetPage, SEQ_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { IdParamsSchema } from '../share-requests/schemas.js'
import { unitScope } from '../visibility.js'
import { narrowGrant } from './narrowing.js'
import { dueCutoff, recertifyGrant } from './recertification.js'
import { createGrantRepository } from './repository.js'
import { GrantPageSchema, GrantSchema, ListGrantsQuerySchema, NarrowGrantSchema, RecertificationBodySchema, RevokeBodySchema } from './schemas.js'
import { createGrantService, toGrantView } from './service.js'

const tags = ['grants']
const readers = { roles: ['consumer', 'steward', 'security_admin', 'auditor'] } as const

/** Grants (授权): listed to their holders, producers, the office and auditors; revoked by the office or the producer. */
export const grantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const grants = createGrantRepository(app.db)
  const service = createGrantService(app.db)
  const settings = { GRANT_RECERTIFY_DAYS: app.config.GRANT_RECERTIFY_DAYS, GRANT_RECERTIFY_GRACE_DAYS: app.config.GRANT_RECERTIFY_GRACE_DAYS }
  const view = (g: Parameters<typeof toGrantView>[0]) => toGrantView(g, settings)

  app.get('/grants', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List grants',
      description: 'Newest first. A unit sees the grants it holds and, for its stewards, those on its datasets; the office and auditors see all. ' +
        '`status=expired` lists live grants past their end date; `recertificationDue=true` the live grants due for re-certification.',
      operationId: 'listGrants',
      querystring: ListGrantsQuerySchema,
      response: { 200: GrantPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query
    const due = filter.recertificationDue !== undefined ? { recertifyCutoff: dueCutoff(settings) } : {}
    const { page, nextCursor } = await keysetPage({ limit, cursor }, {
      key: SEQ_KEY, as: 'beforeSeq', fetch: (p) => grants.list(unitScope(request.principal!), { ...filter, ...due, ...p }), keyOf: (g) => [g.seq]
    })
    return { data: page.map(view), nextCursor }
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
  }, async (request) => view(await service.get(request.params.id, request.principal!)))

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
  }, async (request) => view(await service.revoke(request.params.id, request.body.reason, request.principal!, String(request.id))))

  app.patch('/grants/:id', {
    config: { access: { roles: ['steward', 'security_admin'] } },
    schema: {
      tags,
      summary: 'Narrow a grant',
      description: 'Takes away only (004 §22): fewer `fields`, more `rowFilter` conditions (every current one kept; an `in` list may be cut), ' +
        'a lower `dailyRowQuota`, an earlier `validUntil` (not before today), with a `reason`. Anything wider is a 400 naming the property: ' +
        'file a new share request. The office, or a steward of the producer unit; an active or suspended grant (409 otherwise). ' +
        'Every gateway reads under the narrower terms within a second; audited with the terms before and after.',
      operationId: 'narrowGrant',
      params: IdParamsSchema,
      body: NarrowGrantSchema,
      response: { 200: GrantSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => view(await narrowGrant(app.db, request.params.id, request.body, request.principal!, String(request.id))))

  app.post('/grants/:id/recertification', {
    config: { access: { roles: ['steward'] } },
    schema: {
      tags,
      summary: 'Re-certify a grant',
      description: 'A steward of the producer unit confirms that a live grant is still needed (`keep`: its next re-certification falls due ' +
        'GRANT_RECERTIFY_DAYS from now, and a grant suspended for want of re-certification is active again) or ends it (`revoke`). ' +
        'Revoked or expired grants are 409.',
      operationId: 'recertifyGrant',
      params: IdParamsSchema,
      body: RecertificationBodySchema,
      response: { 200: GrantSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => view(await recertifyGrant(app.db, settings, request.params.id, request.body, request.principal!, String(request.id))))
}
