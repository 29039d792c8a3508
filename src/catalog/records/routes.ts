import { createHash, randomUUID } from 'node:crypto'
import createError from '@fastify/error'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { recordEvent } from '../../platform/events.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { canSee } from '../datasets/access.js'
import { createDatasetRepository } from '../datasets/repository.js'
import { CollectionUnconfirmedError, DatasetNotFoundError, DatasetStateError, NotProducerError } from '../errors.js'
import { collectionAllowed } from '../datasets/collection.js'
import { BatchTooLargeError, NDJSON, parseNdjson } from './ndjson.js'
import { encryptedFields } from '../encryption/codec.js'
import { recordSealer } from '../encryption/seal-records.js'
import { personTracerOf, type PersonTracer } from '../../audit/index.js'
import { IngestQuerySchema } from '../corrections/schemas.js'
import { resolveByBatch } from '../corrections/workflow.js'
import { createRecordRepository } from './repository.js'
import {
  INGEST_BODY_LIMIT_BYTES, IngestBodySchema, IngestResultSchema, MAX_BATCH_ROWS, RecordParamsSchema, RecordsParamsSchema
} from './schemas.js'
import { keyFromPath, validateBatch, type ValidRecord } from './validate.js'

const RecordNotFoundError = createError<[string]>('CATALOG_RECORD_NOT_FOUND', 'dataset %s holds no record with this key', 404)

const tags = ['records']
const writers = { roles: ['steward'] } as const

export interface RecordsRoutesOptions {
  /** body limit of ingest; default INGEST_BODY_LIMIT_BYTES, never below the platform's */
  bodyLimit?: number
}

/** Only the producer unit writes a dataset's records, and only while the dataset is live. */
function writable (dataset: Dataset | null, code: string, principal: Principal): Dataset {
  // another unit's draft does not exist for it: 404 as for an unknown code, not a 403 naming its producer
  if (!dataset || !canSee(principal, dataset)) throw new DatasetNotFoundError(code)
  if (dataset.producer_unit !== principal.unit) {
    throw new NotProducerError(`only the producer unit ${dataset.producer_unit} writes the records of ${code}`)
  }
  if (dataset.status !== 'draft' && dataset.status !== 'published') {
    throw new DatasetStateError(`dataset ${code} is ${dataset.status}: its records no longer change`)
  }
  return dataset
}

/** The last path segment as sent: a composite key splits on ',' before %2C inside a value is decoded. */
function rawKeySegment (url: string): string {
  const path = url.split('?', 1)[0]!
  return path.slice(path.lastIndexOf('/') + 1)
}

/** A 400 shaped like a schema failure, so that the problem document names the parameter. */
function paramError (field: string, message: string) {
  return Object.assign(new Error(message), {
    statusCode: 400,
    validationContext: 'params',
    validation: [{ keyword: 'key', instancePath: `/${field}`, schemaPath: '#', params: {}, message }]
  })
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
  const datasets = createDatasetRepository(app.db)
  const records = createRecordRepository(app.db)
  /** made at the first ingest: the master key is the encryption plugin's by then */
  let tracer: PersonTracer | undefined
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
    // the data key of an encrypted dataset is loaded (or made) before the transaction, which the
    // codec then finds in memory: a key is never created inside a batch's transaction
    const before = await datasets.find(code)
    if (before && before.producer_unit === principal.unit && encryptedFields(before).length > 0) await app.encryption.keyring.dataKey(code)
    // the dataset row is locked: batches of one dataset apply one after another (no deadlocks
    // between overlapping batches), and it cannot be retired half-way through one
    return await app.db.transaction().execute(async (trx) => {
      const dataset = writable(await datasets.findForUpdate(code, trx), code, principal)
      if (!collectionAllowed(dataset)) throw new CollectionUnconfirmedError(code)
      const outcome = validateBatch({ fields: dataset.fields, primaryKey: dataset.primary_key, personKey: dataset.person_key }, rows)
      // personal information is stored sealed, with blind indexes for equality filters and the
      // masked forms that do not depend on the grant kept beside (R9.1, 003 3(1)): each chunk is
      // sealed while the database writes the one before
      const seal = await recordSealer(app.encryption, dataset, trx)
      // where reads of the dataset are traced, the digest of each person key is made here once,
      // not on every page that serves the record (audit/persons/trace.ts)
      const tracing = (tracer ??= personTracerOf(app.config)).of(dataset)
      const prepare = tracing
        ? (chunk: ValidRecord[]) => {
            seal?.(chunk)
            for (const r of chunk) r.personDigest = r.personKey === null ? null : tracing.digest(r.personKey)
          }
        : seal ?? undefined
      const who = { batch: randomUUID(), unit: principal.unit, sub: principal.sub, client: principal.client ?? null }
      const counts = { received: rows.length, accepted: outcome.valid.length, rejected: outcome.rejected.length }
      await records.ingest({ ...who, ...counts, dataset: code, format, errors: outcome.errorCounts }, outcome.valid, trx, { prepare, personDigestKey: tracing ? tracer.keyId : null })
      const { correction } = request.query
      if (correction !== undefined) {
        const written = new Set(outcome.valid.map((r) => r.key))
        await resolveByBatch(trx, { dataset: code, id: correction, batch: who.batch, written, principal, requestId: request.id })
      }
      await recordEvent(trx, {
        service: 'catalog',
        action: 'records.ingest',
        actor: principal,
        objectType: 'dataset',
        objectId: code,
        dataset: code,
        requestId: request.id,
        details: { batch: who.batch, format, ...counts }
      })
      return { accepted: counts.accepted, rejected: outcome.rejected, batch: who.batch }
    })
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
    await app.db.transaction().execute(async (trx) => {
      const dataset = writable(await datasets.findForUpdate(code, trx), code, principal)
      const key = keyFromPath(rawKeySegment(request.url), dataset.primary_key)
      if (key === null) {
        throw paramError('key', `must hold the ${dataset.primary_key.length} key values (${dataset.primary_key.join(', ')}), each URL-encoded, joined by ","`)
      }
      const deleted = await records.delete(code, key, trx)
      if (!deleted) throw new RecordNotFoundError(code)
      await recordEvent(trx, {
        service: 'catalog',
        action: 'records.delete',
        actor: principal,
        objectType: 'dataset',
        objectId: code,
        dataset: code,
        requestId: request.id,
        // not the key itself (personal data): a digest that someone who holds the key can match
        details: { keyDigest: createHash('sha256').update(`${code}\n${key}`).digest('hex'), batch: deleted.batch }
      })
    })
    return reply.code(204).send(null)
  })
}
