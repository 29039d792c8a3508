import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { BatchTooLargeError, NDJSON, parseNdjson } from './ndjson.js'
import { IngestQuerySchema } from '../corrections/schemas.js'
import { createRecordService } from './service.js'
import {
  INGEST_BODY_LIMIT_BYTES, IngestBodySchema, IngestResultSchema, MAX_BATCH_ROWS, RecordParamsSchema, RecordsParamsSchema
} from './schemas.js'

const tags = ['records']
const writers = { roles: ['steward'] } as const

export interface RecordsRoutesOptions {
  /** body limit of ingest; default INGEST_BODY_LIMIT_BYTES, never below the platform's */
  bodyLimit?: number
}

/** The last path segment as sent: a composite key splits on ',' before %2C inside a value is decoded. */
function rawKeySegment (url: string): string {
  const path = url.split('?', 1)[0]!
  return path.slice(path.lastIndexOf('/') + 1)
}

/** The request log line without the key: a key is often a person's student or ID number. */
const keylessRequestLog = {
  req: (req: FastifyRequest) => ({
    method: req.method,
    path: req.url.split('?', 1)[0]!.replace(/[^/]*$/, '{key}'),
    remoteAddress: req.ip,
    userAgent: req.headers['user-agent'],
    contentLength: req.headers['content-length']
  })
}

/** Authoritative record ingest (R3.1) with provenance (R3.4): the producer unit's stewards and service clients. */
export const recordsRoutes: FastifyPluginAsyncTypebox<RecordsRoutesOptions> = async (app, options) => {
  const service = createRecordService(app.db, app.encryption, app.config)
  const bodyLimit = options.bodyLimit ?? Math.max(INGEST_BODY_LIMIT_BYTES, app.initialConfig.bodyLimit ?? 0)

  // scoped to this plugin: NDJSON is accepted by ingest only, within the route's body limit
  app.addContentTypeParser(NDJSON, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseNdjson(body as string, MAX_BATCH_ROWS))
    } catch (err) {
      done(err as Error, undefined)
    }
  })

  app.put('/datasets/:code/records', {
    config: { access: writers },
    bodyLimit,
    // before schema validation, so that too many records is a 413 rather than a maxItems 400
    preValidation: async (request) => {
      if (Array.isArray(request.body) && request.body.length > MAX_BATCH_ROWS) {
        throw new BatchTooLargeError(MAX_BATCH_ROWS, request.body.length)
      }
    },
    schema: {
      tags,
      summary: 'Ingest records',
      description: 'The producer unit (its stewards and service clients) pushes a batch of up to 10,000 records as a JSON ' +
        'array or as NDJSON. Each record is validated against the dataset\'s fields (type, required, code table, pattern, ' +
        'length, range, format: GB 11643 ID number, mainland mobile, e-mail); unknown fields are errors, and a key repeated ' +
        'within the batch is rejected after its first row. Valid records are upserted by primary key in one transaction, ' +
        'stamped with unit, subject, client and batch; invalid ones are listed with their reasons and not stored. ' +
        'Draft and published datasets accept records; retired and destroyed ones answer 409 (R3.1, R3.4), and so does a draft ' +
        'holding sensitive or children\'s personal information before the office confirmed its grading and collection ' +
        '(`CATALOG_COLLECTION_UNCONFIRMED`, 001 §51, 003 3(4)). A batch that makes an accepted data-error correction names it ' +
        '(`?correction={id}`): the correction is then `corrected` by this batch (001 §64(3)).',
      operationId: 'ingestRecords',
      consumes: ['application/json', NDJSON],
      params: RecordsParamsSchema,
      querystring: IngestQuerySchema,
      body: IngestBodySchema,
      response: { 200: IngestResultSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const { code } = request.params
    const principal = request.principal!
    const rows = request.body as Record<string, unknown>[]
    const format = request.headers['content-type']?.toLowerCase().startsWith(NDJSON) ? 'ndjson' : 'json'
    return await service.ingest(code, rows, format, request.query.correction, principal, request.id)
  })

  app.delete('/datasets/:code/records/:key', {
    config: { access: writers },
    logSerializers: keylessRequestLog,
    schema: {
      tags,
      summary: 'Delete a record',
      description: 'The producer unit removes one record of a live dataset. The key is the record\'s primary-key value; for a ' +
        'composite key, its values in key order, each URL-encoded (a "," inside a value as %2C), joined by ",".',
      operationId: 'deleteRecord',
      params: RecordParamsSchema,
      response: { 204: Type.Null({ description: 'deleted' }), ...problems(...AUTHENTICATED_PROBLEMS, 404, 409) }
    }
  }, async (request, reply) => {
    const { code } = request.params
    const principal = request.principal!
    await service.delete(code, rawKeySegment(request.url), principal, request.id)
    return reply.code(204).send(null)
  })
}
