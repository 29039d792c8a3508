import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { domainEvents } from '../../platform/domain-events.js'
import { keysetPage, TEXT_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { UnitExistsError, UnitNotFoundError } from '../errors.js'
import { createUnitRepository, toUnitView } from './repository.js'
import {
  CreateUnitSchema, ListUnitsQuerySchema, UnitPageSchema, UnitParamsSchema, UnitSchema, UpdateUnitSchema
} from './schemas.js'

const tags = ['units']
const writers = { roles: ['system_admin'] } as const
const event = domainEvents({ service: 'catalog', objectType: 'unit' })

/** Units: `system_admin` registers and edits them; every authenticated role reads them. */
export const unitRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const units = createUnitRepository(app.db)

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
    const row = await app.db.transaction().execute(async (trx) => {
      const created = await units.create(request.body, trx)
      if (!created) throw new UnitExistsError(request.body.code)
      await event(trx, request, 'unit.create', created.code, { name: created.name, description: created.description })
      return created
    })
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
    const row = await app.db.transaction().execute(async (trx) => {
      const before = await units.find(request.params.code, trx)
      const after = before ? await units.update(request.params.code, request.body, trx) : null
      if (!before || !after) throw new UnitNotFoundError(request.params.code)
      // the officer's name and contact are personal data: the event says that they changed, not to what
      await event(trx, request, 'unit.update', after.code, {
        changed: Object.keys(request.body),
        before: { name: before.name, description: before.description },
        after: { name: after.name, description: after.description }
      })
      return after
    })
    return toUnitView(row)
  })
}
