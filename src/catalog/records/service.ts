import { createHash, randomUUID } from 'node:crypto'
import createError from '@fastify/error'
import type { Kysely } from 'kysely'
import { personTracerOf, type PersonTracer } from '../../audit/index.js'
import type { Config } from '../../config.js'
import type { Database, Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { recordEvent } from '../../platform/events.js'
import { resolveByBatch } from '../corrections/workflow.js'
import { canSee } from '../datasets/access.js'
import { collectionAllowed } from '../datasets/collection.js'
import { createDatasetRepository } from '../datasets/repository.js'
import { encryptedFields } from '../encryption/codec.js'
import type { Encryption } from '../encryption/plugin.js'
import { recordSealer } from '../encryption/seal-records.js'
import { CollectionUnconfirmedError, DatasetNotFoundError, DatasetStateError, NotProducerError } from '../errors.js'
import { createRecordRepository } from './repository.js'
import type { IngestResult } from './schemas.js'
import { keyFromPath, validateBatch, type ValidRecord } from './validate.js'

const RecordNotFoundError = createError<[string]>('CATALOG_RECORD_NOT_FOUND', 'dataset %s holds no record with this key', 404)

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

/** A 400 shaped like a schema failure, so that the problem document names the parameter. */
function paramError (field: string, message: string) {
  return Object.assign(new Error(message), {
    statusCode: 400,
    validationContext: 'params',
    validation: [{ keyword: 'key', instancePath: `/${field}`, schemaPath: '#', params: {}, message }]
  })
}

/** Authoritative records as their producer unit writes them: a batch ingested, a record deleted, each in one transaction with its event. */
export function createRecordService (db: Kysely<Database>, encryption: Encryption, config: Config) {
  const datasets = createDatasetRepository(db)
  const records = createRecordRepository(db)
  /** made at the first ingest: the master key is the encryption plugin's by then */
  let tracer: PersonTracer | undefined

  return {
    /** A validated batch upserted (`correction`: the accepted correction it makes); invalid rows come back with their reasons. */
    async ingest (code: string, rows: Record<string, unknown>[], format: 'json' | 'ndjson', correction: string | undefined, principal: Principal, requestId: string): Promise<IngestResult> {
      // the data key of an encrypted dataset is loaded (or made) before the transaction, which the
      // codec then finds in memory: a key is never created inside a batch's transaction
      const before = await datasets.find(code)
      if (before && before.producer_unit === principal.unit && encryptedFields(before).length > 0) await encryption.keyring.dataKey(code)
      // the dataset row is locked: batches of one dataset apply one after another (no deadlocks
      // between overlapping batches), and it cannot be retired half-way through one
      return await db.transaction().execute(async (trx) => {
        const dataset = writable(await datasets.findForUpdate(code, trx), code, principal)
        if (!collectionAllowed(dataset)) throw new CollectionUnconfirmedError(code)
        const outcome = validateBatch({ fields: dataset.fields, primaryKey: dataset.primary_key, personKey: dataset.person_key }, rows)
        // personal information is stored sealed, with blind indexes for equality filters and the
        // masked forms that do not depend on the grant kept beside (R9.1, 003 3(1)): each chunk is
        // sealed while the database writes the one before
        const seal = await recordSealer(encryption, dataset, trx)
        // where reads of the dataset are traced, the digest of each person key is made here once,
        // not on every page that serves the record (audit/persons/trace.ts)
        const tracing = (tracer ??= personTracerOf(config)).of(dataset)
        const prepare = tracing
          ? (chunk: ValidRecord[]) => {
              seal?.(chunk)
              for (const r of chunk) r.personDigest = r.personKey === null ? null : tracing.digest(r.personKey)
            }
          : seal ?? undefined
        const who = { batch: randomUUID(), unit: principal.unit, sub: principal.sub, client: principal.client ?? null }
        const counts = { received: rows.length, accepted: outcome.valid.length, rejected: outcome.rejected.length }
        await records.ingest({ ...who, ...counts, dataset: code, format, errors: outcome.errorCounts }, outcome.valid, trx, { prepare, personDigestKey: tracing ? tracer.keyId : null })
        if (correction !== undefined) {
          const written = new Set(outcome.valid.map((r) => r.key))
          await resolveByBatch(trx, { dataset: code, id: correction, batch: who.batch, written, principal, requestId })
        }
        await recordEvent(trx, {
          service: 'catalog',
          action: 'records.ingest',
          actor: principal,
          objectType: 'dataset',
          objectId: code,
          dataset: code,
          requestId,
          details: { batch: who.batch, format, ...counts }
        })
        return { accepted: counts.accepted, rejected: outcome.rejected, batch: who.batch }
      })
    },

    /** One record removed; `rawKey` is the key's path segment as sent (a composite key's values URL-encoded, joined by ","). */
    async delete (code: string, rawKey: string, principal: Principal, requestId: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const dataset = writable(await datasets.findForUpdate(code, trx), code, principal)
        const key = keyFromPath(rawKey, dataset.primary_key)
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
          requestId,
          // not the key itself (personal data): a digest that someone who holds the key can match
          details: { keyDigest: createHash('sha256').update(`${code}\n${key}`).digest('hex'), batch: deleted.batch }
        })
      })
    }
  }
}
