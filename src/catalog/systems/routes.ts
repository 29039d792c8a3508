import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keysetPage, type CursorKey } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { SystemForbiddenError, SystemNotFoundError } from '../errors.js'
import { createSystemRepository, reviewCutoff, toSystemView } from './repository.js'
import {
  ConsistencyQuerySchema, ConsistencyReportSchema, CreateSystemSchema, ListSystemsQuerySchema, SystemPageSchema,
  SystemParamsSchema, SystemSchema, UpdateSystemSchema
} from './schemas.js'
import { createSystemService, readScope } from './service.js'

const tags = ['asset registry']
const readers = { roles: ['security_admin', 'auditor', 'steward'] } as const
const writers = { roles: ['security_admin', 'steward'] } as const
/** the cursor of the list: the unit and name of the last system, as text */
const UNIT_AND_NAME: CursorKey<[string, string]> = { arity: 2, parse: (parts) => parts.map(String) as [string, string] }

/**
 * The asset registry (R2.9): each unit's business systems, their responsible person and the datasets
 * they feed, confirmed every ASSET_REVIEW_DAYS, and checked against the catalog. Stewards keep their
 * own unit's systems; the data-management office keeps every unit's; auditors read. A steward sees
 * no other unit's systems (404).
 */
export const systemsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const systems = createSystemRepository(app.db)
  const service = createSystemService(app.db)
  const reviewDays = app.config.ASSET_REVIEW_DAYS

  app.post('/systems', {
    config: { access: writers },
    schema: {
      tags,
      summary: 'Register a business system',
      description: 'Registers a business system of a unit with its responsible person and the datasets it feeds (live datasets ' +
        'of that unit). A steward registers for its own unit; `security_admin` for any (default: its own). Registration counts ' +
        'as the first confirmation.',
      operationId: 'createSystem',
      body: CreateSystemSchema,
      response: { 201: SystemSchema, ...problems(...AUTHENTICATED_PROBLEMS, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const row = await service.register(request.body, request.principal!, String(request.id))
    return reply.code(201).send(toSystemView(row, reviewDays))
  })

  app.get('/systems', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List business systems',
      description: 'Systems ordered by unit and name, cursor-paginated; filters: `unit`, `dataset` (systems feeding it), ' +
        '`overdue`. A steward sees its own unit\'s only.',
      operationId: 'listSystems',
      querystring: ListSystemsQuerySchema,
      response: { 200: SystemPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { unit, dataset, overdue } = request.query
    const scope = readScope(request.principal!)
    const now = new Date()
    const { page, nextCursor } = await keysetPage(request.query, {
      key: UNIT_AND_NAME,
      as: 'after',
      // a unit filter never widens what a steward sees: another unit's systems are an empty page
      fetch: async (p) => scope !== null && unit !== undefined && unit !== scope
        ? []
        : await systems.list({
          ...p,
          ...(scope !== null || unit !== undefined ? { unit: scope ?? unit } : {}),
          ...(dataset !== undefined ? { dataset } : {}),
          ...(overdue !== undefined ? { overdue, overdueBefore: reviewCutoff(reviewDays, now) } : {})
        }),
      keyOf: (s) => [s.unit_code, s.name]
    })
    return { data: page.map((s) => toSystemView(s, reviewDays, now)), nextCursor }
  })

  // a static segment: Fastify's router matches it before /systems/:id
  app.get('/systems/consistency', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Check the asset registry against the catalog',
      description: 'Lists live datasets that no system of their unit feeds, systems that feed no live dataset, registrations ' +
        'not confirmed within ASSET_REVIEW_DAYS, and dataset codes systems list that are no longer live datasets of their unit. ' +
        '`security_admin` and auditors check every unit (or `unit`); a steward its own unit.',
      operationId: 'checkSystemsConsistency',
      querystring: ConsistencyQuerySchema,
      response: { 200: ConsistencyReportSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const scope = readScope(request.principal!)
    const unit = request.query.unit ?? scope
    if (scope !== null && unit !== scope) throw new SystemForbiddenError(`a steward checks its own unit (${scope}) only`)
    return await service.consistency(unit, reviewDays)
  })

  app.get('/systems/:id', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get a business system',
      operationId: 'getSystem',
      params: SystemParamsSchema,
      response: { 200: SystemSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await systems.find(request.params.id)
    const scope = readScope(request.principal!)
    if (!row || (scope !== null && row.unit_code !== scope)) throw new SystemNotFoundError(request.params.id)
    return toSystemView(row, reviewDays)
  })

  app.patch('/systems/:id', {
    config: { access: writers },
    schema: {
      tags,
      summary: 'Update a business system',
      description: 'Changes the name, description, responsible person or datasets. The unit is permanent, and a change is ' +
        'not a confirmation (see confirmSystem). A steward of the system\'s unit, or `security_admin`.',
      operationId: 'updateSystem',
      params: SystemParamsSchema,
      body: UpdateSystemSchema,
      response: { 200: SystemSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const row = await service.update(request.params.id, request.body, request.principal!, String(request.id))
    return toSystemView(row, reviewDays)
  })

  app.post('/systems/:id/confirm', {
    config: { access: writers },
    schema: {
      tags,
      summary: 'Confirm a business system\'s registration',
      description: 'The periodic review (R2.9): the unit confirms the registration is still accurate, which restarts the ' +
        'review period. A steward of the system\'s unit, or `security_admin`. No body.',
      operationId: 'confirmSystem',
      params: SystemParamsSchema,
      response: { 200: SystemSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await service.confirm(request.params.id, request.principal!, String(request.id))
    return toSystemView(row, reviewDays)
  })

  app.delete('/systems/:id', {
    config: { access: writers },
    schema: {
      tags,
      summary: 'Decommission a business system',
      description: 'Removes the registration of a decommissioned system; the event log keeps its record. A steward of the ' +
        'system\'s unit, or `security_admin`.',
      operationId: 'deleteSystem',
      params: SystemParamsSchema,
      response: { 204: Type.Null({ description: 'removed; no content' }), ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request, reply) => {
    await service.remove(request.params.id, request.principal!, String(request.id))
    return reply.code(204).send(null)
  })
}
