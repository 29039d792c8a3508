import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { keysetPage, TEXT_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { UnitNotFoundError } from '../errors.js'
import { createUnitRepository, toUnitView } from './repository.js'
import {
  CreateUnitSchema, ListUnitsQuerySchema, UnitPageSchema, UnitParamsSchema, UnitSchema, UpdateUnitSchema
} from './schemas.js'
import { createUnitService } from './service.js'

const tags = ['units']
const writers = { roles: ['system_admin'] } as const

/** Units: `system_admin` registers and edits them; every authenticated role reads them. */
export const unitRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const units = createUnitRepository(app.db)
  const service = createUnitService(app.db)

  app.post('/units', {
    config: { access: writers },
    schema: {
      tags,
      summary: 'Register a unit',
      description: 'Registers a second-level unit with its data-protection officer (R1.4). Only `system_admin`.',
      operationId: 'createUnit',
      body: CreateUnitSchema,
      response: { 201: UnitSchema, ...problems(...AUTHENTICATED_PROBLEMS, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const row = await service.create(request.body, request.principal!, String(request.id))
    return reply.code(201).send(toUnitView(row))
  })

  app.get('/units', {
    config: { access: 'authenticated' },
    schema: {
      tags,
      summary: 'List units',
      description: 'Units ordered by code, cursor-paginated; `q` filters by code or name.',
      operationId: 'listUnits',
      querystring: ListUnitsQuerySchema,
      response: { 200: UnitPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { q } = request.query
    const { page, nextCursor } = await keysetPage(request.query, {
      key: TEXT_KEY, as: 'after', fetch: (p) => units.list({ ...p, ...(q !== undefined ? { q } : {}) }), keyOf: (u) => [u.code]
    })
    return { data: page.map(toUnitView), nextCursor }
  })

  app.get('/units/:code', {
    config: { access: 'authenticated' },
    schema: {
      tags,
      summary: 'Get a unit',
      operationId: 'getUnit',
      params: UnitParamsSchema,
      response: { 200: UnitSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await units.find(request.params.code)
    if (!row) throw new UnitNotFoundError(request.params.code)
    return toUnitView(row)
  })

  app.patch('/units/:code', {
    config: { access: writers },
    schema: {
      tags,
      summary: 'Update a unit',
      description: 'Changes the name, officer or description. The code is permanent. Only `system_admin`.',
      operationId: 'updateUnit',
      params: UnitParamsSchema,
      body: UpdateUnitSchema,
      response: { 200: UnitSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 413, 415) }
    }
  }, async (request) => {
    const row = await service.update(request.params.code, request.body, request.principal!, String(request.id))
    return toUnitView(row)
  })
}
