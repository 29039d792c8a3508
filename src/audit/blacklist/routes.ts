import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { BlacklistEntry } from '../../db/database.js'
import { keysetPage, SEQ_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { createBlacklistRepository, statusOf } from './repository.js'
import {
  BlacklistEntrySchema, BlacklistPageSchema, BlacklistParamsSchema, CreateBlacklistEntrySchema, LiftBlacklistEntrySchema,
  ListBlacklistQuerySchema, type BlacklistEntryView
} from './schemas.js'
import { createBlacklistService, type Asker } from './service.js'

const tags = ['audit']
// the office runs security operations; auditors see what it did
const office = { roles: ['security_admin'] } as const
const readers = { roles: ['security_admin', 'auditor'] } as const

export function toBlacklistView (e: BlacklistEntry): BlacklistEntryView {
  return {
    id: e.id,
    kind: e.kind,
    value: e.value,
    unit: e.unit,
    reason: e.reason,
    expiresAt: e.expires_at?.toISOString() ?? null,
    status: statusOf(e),
    alertId: e.alert_id,
    createdBy: e.created_by,
    createdAt: e.created_at.toISOString(),
    liftedBy: e.lifted_by,
    liftedAt: e.lifted_at?.toISOString() ?? null,
    liftReason: e.lift_reason
  }
}

const askerOf = (request: FastifyRequest): Asker => ({ principal: request.principal!, ip: request.ip, requestId: String(request.id) })

/** The blacklist (R11.2, 001 §59): token subjects, service clients and addresses refused on every request. */
export const blacklistRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const entries = createBlacklistRepository(app.db)
  const service = createBlacklistService(app.db, app.blocklist.refresh)

  app.post('/audit/blacklist', {
    config: { access: office },
    schema: {
      tags,
      summary: 'Block a caller',
      description: 'Adds a blacklist entry: a token subject (everywhere, or only with tokens of one `unit`), a service client id, or an IPv4 or ' +
        'IPv6 address or CIDR range. Every process refuses it within a second, with 403 `AUTH_BLOCKED` (an address even on public routes, before ' +
        'authentication), until `expiresAt` or until lifted. An entry that would block the caller itself is refused. Recorded in the log.',
      operationId: 'createBlacklistEntry',
      body: CreateBlacklistEntrySchema,
      response: { 201: BlacklistEntrySchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request, reply) => {
    const entry = await service.add(request.body, askerOf(request))
    return reply.code(201).send(toBlacklistView(entry))
  })

  app.get('/audit/blacklist', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List blacklist entries',
      description: 'Newest first, every entry ever made (entries are evidence and never deleted); filter by `status` (active, expired, lifted), ' +
        '`kind` and `value`.',
      operationId: 'listBlacklistEntries',
      querystring: ListBlacklistQuerySchema,
      response: { 200: BlacklistPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query
    const { page, nextCursor } = await keysetPage({ limit, cursor }, {
      key: SEQ_KEY, as: 'beforeSeq', fetch: (p) => entries.list({ ...filter, ...p }), keyOf: (e) => [e.seq]
    })
    return { data: page.map(toBlacklistView), nextCursor }
  })

  app.get('/audit/blacklist/:id', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get a blacklist entry',
      description: 'One entry, with who made it, why, and who lifted it.',
      operationId: 'getBlacklistEntry',
      params: BlacklistParamsSchema,
      response: { 200: BlacklistEntrySchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => toBlacklistView(await service.get(request.params.id)))

  app.post('/audit/blacklist/:id/lift', {
    config: { access: office },
    schema: {
      tags,
      summary: 'Lift a blacklist entry',
      description: 'Ends an active entry early, with the reason; the entry stays as evidence. Every process lets the caller in again within a ' +
        'second. Lifting an entry that is already lifted or expired is 409. Recorded in the log.',
      operationId: 'liftBlacklistEntry',
      params: BlacklistParamsSchema,
      body: LiftBlacklistEntrySchema,
      response: { 200: BlacklistEntrySchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => toBlacklistView(await service.lift(request.params.id, request.body.reason, askerOf(request))))
}
