import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { keysetPage, TEXT_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { PurposeNotFoundError } from './errors.js'
import { createPurposeRepository } from './repository.js'
import { CreatePurposeSchema, ListPurposesQuerySchema, PurposePageSchema, PurposeParamsSchema, PurposeSchema, UpdatePurposeSchema } from './schemas.js'
import { createPurposeService } from './service.js'
import { toPurposeView } from './views.js'

const tags = ['purposes']
const office = { roles: ['security_admin'] } as const

/**
 * The campus's list of purposes of use, kept by the data-management office (R9.1: consent is per
 * purpose, and a new purpose needs a new consent). Consents and share requests name a purpose by
 * its code; a purpose is retired, never deleted.
 */
export const purposeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const purposes = createPurposeRepository(app.db)
  const service = createPurposeService(app.db)

  app.get('/purposes', {
    config: { access: 'authenticated' },
    schema: {
      tags,
      summary: 'List purposes',
      description: 'The campus\'s purposes of use, by code, cursor-paginated; `retired` filters. Any authenticated caller reads them.',
      operationId: 'listPurposes',
      querystring: ListPurposesQuerySchema,
      response: { 200: PurposePageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { retired } = request.query
    const { page, nextCursor } = await keysetPage(request.query, { key: TEXT_KEY, as: 'after', fetch: (p) => purposes.list({ ...p, retired }), keyOf: (p) => [p.code] })
    return { data: page.map(toPurposeView), nextCursor }
  })

  app.get('/purposes/:code', {
    config: { access: 'authenticated' },
    schema: {
      tags,
      summary: 'Get a purpose',
      operationId: 'getPurpose',
      params: PurposeParamsSchema,
      response: { 200: PurposeSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const p = await purposes.find(request.params.code)
    if (!p) throw new PurposeNotFoundError(request.params.code)
    return toPurposeView(p)
  })

  app.post('/purposes', {
    config: { access: office },
    schema: {
      tags,
      summary: 'Add a purpose',
      description: 'The office adds a purpose to the list. A code is used once: an existing one, retired or not, is a 409.',
      operationId: 'createPurpose',
      body: CreatePurposeSchema,
      response: { 201: PurposeSchema, ...problems(...AUTHENTICATED_PROBLEMS, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const created = await service.create(request.body, request.principal!, String(request.id))
    return reply.code(201).send(toPurposeView(created))
  })

  app.patch('/purposes/:code', {
    config: { access: office },
    schema: {
      tags,
      summary: 'Change or retire a purpose',
      description: 'The office changes a purpose\'s names or description, or retires it (`retired: true`): a retired purpose stays in the list, ' +
        'and the consents and grants naming it keep it, but no new consent or share request may name it. `retired: false` brings it back. ' +
        'The code never changes.',
      operationId: 'updatePurpose',
      params: PurposeParamsSchema,
      body: UpdatePurposeSchema,
      response: { 200: PurposeSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 413, 415) }
    }
  }, async (request) => {
    const after = await service.update(request.params.code, request.body, request.principal!, String(request.id))
    return toPurposeView(after)
  })
}
