import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { FieldError } from '../../platform/errors.js'
import { decodeCursor, paginate } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import {
  ConsentPageSchema, ConsentParamsSchema, ConsentSchema, CreateConsentSchema, ListConsentsQuerySchema, WithdrawalResultSchema,
  WithdrawConsentSchema
} from './schemas.js'
import { createConsentService } from './service.js'
import { toConsentView } from './view.js'

const tags = ['consents']
const recorders = { roles: ['steward', 'consumer'] } as const
const readers = { roles: ['steward', 'consumer', 'security_admin', 'auditor'] } as const
const withdrawers = { roles: ['steward', 'consumer', 'security_admin'] } as const

/** The seq a cursor carries: a bigint's digits, or the cursor is not one this list issued. */
function seqOf (cursor: string): string {
  const seq = String(decodeCursor(cursor, 1)[0])
  if (!/^[0-9]{1,19}$/.test(seq)) throw new FieldError('cursor', 'is not a cursor this list issued')
  return seq
}

/**
 * Personal-information consents (个人信息同意, R9.1–R9.3): a unit's stewards and staff record the
 * consents their unit collected and withdraw them; the office and auditors read every unit's. A
 * unit never sees another unit's consents (404).
 */
export const consentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = createConsentService(app.db)

  app.post('/consents', {
    config: { access: recorders },
    schema: {
      tags,
      summary: 'Record a consent',
      description: 'Records, for the caller\'s unit, a person\'s consent to the use of their personal information for a purpose ' +
        '(R9.1), with the evidence (the signed form or record). `dataset`, when given, must exist and be visible to the caller. ' +
        'A dataset holding children\'s personal information takes only `guardian` consent (R9.3); one holding sensitive personal ' +
        'information takes `separate` (单独同意) or `guardian`, never `general` (R9.2). `givenAt` is not in the future; ' +
        '`expiresAt`, if any, is after it. Each broken rule is a 400 naming the field.',
      operationId: 'createConsent',
      body: CreateConsentSchema,
      response: { 201: ConsentSchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request, reply) => {
    const c = await service.record(request.body, request.principal!, String(request.id))
    return reply.code(201).send(toConsentView(c))
  })

  app.get('/consents', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List consents',
      description: 'Newest first, cursor-paginated; filters: `person`, `dataset`, `status` (`expired`: active consents past ' +
        '`expiresAt`), `kind`, `unit`. A unit sees its own unit\'s consents only; the office (`security_admin`) and auditors ' +
        'see every unit\'s.',
      operationId: 'listConsents',
      querystring: ListConsentsQuerySchema,
      response: { 200: ConsentPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { cursor, ...query } = request.query
    const now = new Date()
    const rows = await service.list({ ...query, ...(cursor !== undefined ? { beforeSeq: seqOf(cursor) } : {}) }, request.principal!, now)
    const { page, nextCursor } = paginate(rows, query.limit, (c) => [String(c.seq)])
    return { data: page.map((c) => toConsentView(c, now)), nextCursor }
  })

  app.get('/consents/:id', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get a consent',
      description: 'One consent; another unit\'s is 404 (the office and auditors see every unit\'s).',
      operationId: 'getConsent',
      params: ConsentParamsSchema,
      response: { 200: ConsentSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => toConsentView(await service.get(request.params.id, request.principal!)))

  app.post('/consents/:id/withdrawal', {
    config: { access: withdrawers },
    schema: {
      tags,
      summary: 'Withdraw a consent',
      description: 'Records the person\'s withdrawal of the consent and, in the same transaction, suspends every active grant ' +
        'that relies on it (its `consents` name it): their status becomes `suspended`. A steward or consumer ' +
        'of the consent\'s unit, or `security_admin`. An expired consent may still be withdrawn; withdrawing twice is 409.',
      operationId: 'withdrawConsent',
      params: ConsentParamsSchema,
      body: WithdrawConsentSchema,
      response: { 200: WithdrawalResultSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const { consent, suspended } = await service.withdraw(request.params.id, request.body.reason, request.principal!, String(request.id))
    return { consent: toConsentView(consent), suspendedGrants: suspended.map((g) => g.id) }
  })
}
