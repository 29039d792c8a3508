import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { BatchTooLargeError, NDJSON, parseNdjson } from '../../catalog/index.js'
import { keysetPage, SEQ_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import {
  ConsentBatchResultSchema, ConsentBatchSchema, ConsentPageSchema, ConsentParamsSchema, ConsentSchema, CreateConsentSchema, ListConsentsQuerySchema,
  MAX_CONSENT_BATCH, WithdrawalResultSchema, WithdrawConsentSchema
} from './schemas.js'
import { createConsentService } from './service.js'
import { toConsentView } from './view.js'

const tags = ['consents']
/** the producer unit's stewards (and service clients holding the steward role) and the office: never a consumer */
const recorders = { roles: ['steward', 'security_admin'] } as const
/** room for a full batch of consents with long evidence and purpose texts */
const BATCH_BODY_LIMIT_BYTES = 16 * 1024 * 1024
const readers = { roles: ['steward', 'consumer', 'security_admin', 'auditor'] } as const
const withdrawers = { roles: ['steward', 'consumer', 'security_admin'] } as const

/**
 * Personal-information consents (个人信息同意, R9.1–R9.3): the producer unit of a dataset (its
 * stewards and service clients) or the office records the consents persons gave, one purpose each;
 * a unit's staff and stewards read and withdraw their unit's; the office and auditors read every
 * unit's. A unit never sees another unit's consents (404).
 */
export const consentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = createConsentService(app.db)

  // scoped to this plugin: NDJSON is accepted by the batch route only
  app.addContentTypeParser(NDJSON, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseNdjson(body as string, MAX_CONSENT_BATCH))
    } catch (err) {
      done(err as Error, undefined)
    }
  })

  app.post('/consents', {
    config: { access: recorders },
    schema: {
      tags,
      summary: 'Record a consent',
      description: 'Records a person\'s consent to the use of their personal information in `dataset` for one purpose of the office\'s ' +
        'list (`purposeCode`, R9.1), with the evidence (the signed form or record). Recorded by the dataset\'s producer unit (a steward, ' +
        'or a service client with the steward role) or the office; another unit\'s steward gets 403, and a consumer role is not allowed. ' +
        'A dataset holding children\'s personal information takes only `guardian` consent (R9.3); one holding sensitive personal ' +
        'information takes `separate` (单独同意) or `guardian`, never `general` (R9.2). `givenAt` is not in the future; ' +
        '`expiresAt`, if any, is after it. Each broken rule is a 400 naming the field. Grants resting on consent serve the person\'s ' +
        'rows of the dataset for that purpose from the next read on.',
      operationId: 'createConsent',
      body: CreateConsentSchema,
      response: { 201: ConsentSchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request, reply) => {
    const c = await service.record(request.body, request.principal!, String(request.id))
    return reply.code(201).send(toConsentView(c))
  })

  app.post('/consents/batch', {
    config: { access: recorders },
    bodyLimit: BATCH_BODY_LIMIT_BYTES,
    // before schema validation, so that too many consents is a 413 rather than a maxItems 400
    preValidation: async (request) => {
      if (Array.isArray(request.body) && request.body.length > MAX_CONSENT_BATCH) throw new BatchTooLargeError(MAX_CONSENT_BATCH, request.body.length)
    },
    schema: {
      tags,
      summary: 'Record consents in a batch',
      description: `Up to ${MAX_CONSENT_BATCH} consents as a JSON array or NDJSON (\`application/x-ndjson\`), each checked as \`POST /api/v1/consents\` ` +
        'checks one (its fields, the dataset, the caller\'s right to record for it, the kind, the period, the purpose). The valid ones are ' +
        'recorded in one transaction; the others are listed with their index and reasons and not recorded, as record ingest answers.',
      operationId: 'recordConsentBatch',
      consumes: ['application/json', NDJSON],
      body: ConsentBatchSchema,
      response: { 200: ConsentBatchResultSchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request) => await service.recordBatch(request.body, request.principal!, String(request.id)))

  app.get('/consents', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List consents',
      description: 'Newest first, cursor-paginated; filters: `person`, `dataset`, `purposeCode`, `status` (`expired`: active consents past ' +
        '`expiresAt`), `kind`, `unit`. A unit sees its own unit\'s consents only; the office (`security_admin`) and auditors ' +
        'see every unit\'s.',
      operationId: 'listConsents',
      querystring: ListConsentsQuerySchema,
      response: { 200: ConsentPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query
    const now = new Date()
    const { page, nextCursor } = await keysetPage({ limit, cursor }, {
      key: SEQ_KEY, as: 'beforeSeq', fetch: (p) => service.list({ ...filter, ...p }, request.principal!, now), keyOf: (c) => [String(c.seq)]
    })
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
      description: 'Records the person\'s withdrawal of the consent. From the next read on, on every gateway, grants resting on consent ' +
        'no longer serve the person\'s rows of the dataset for that purpose; no grant is suspended. A steward or consumer ' +
        'of the consent\'s unit, or `security_admin`. An expired consent may still be withdrawn; withdrawing twice is 409.',
      operationId: 'withdrawConsent',
      params: ConsentParamsSchema,
      body: WithdrawConsentSchema,
      response: { 200: WithdrawalResultSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    return { consent: toConsentView(await service.withdraw(request.params.id, request.body.reason, request.principal!, String(request.id))) }
  })
}
