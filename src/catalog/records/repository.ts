import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely'
import { arrayParams } from '../../db/array-params.js'
import type { Database, StoredRecord } from '../../db/database.js'
import type { ValidRecord } from './validate.js'

type Db = Kysely<Database> | Transaction<Database>

/** Who wrote a batch: the provenance each stored record keeps. */
export interface Provenance {
  batch: string
  unit: string
  sub: string
  client: string | null
}

export interface BatchSummary extends Provenance {
  dataset: string
  format: 'json' | 'ndjson'
  received: number
  accepted: number
  rejected: number
  errors: Record<string, number>
}

/**
 * Records per upsert statement when the caller prepares each chunk (seals it): the next chunk is
 * prepared while the database writes this one, so on two cores a batch costs about the larger of
 * the two rather than their sum (bench/README.md, "Encryption at rest").
 */
export const UPSERT_CHUNK = 250
/** Records per upsert statement when there is nothing to overlap: the chunk only bounds the statement's memory. */
export const UPSERT_CHUNK_ALONE = 5000

export interface IngestOptions {
  /** the trace key the rows' `personDigest` were made under (records.person_digest_key) */
  personDigestKey?: number | null
  /**
   * Called on each chunk before it is written, while the statement of the chunk before runs: the
   * rows' `sealed`, `blind` and `masked` are read after it returns.
   */
  prepare?: (chunk: ValidRecord[]) => void
}

/** Past the microtasks that hand a statement to the driver: it is on its way before more CPU work starts. */
const sent = () => new Promise<void>((resolve) => setImmediate(resolve))

export function createRecordRepository (db: Kysely<Database>) {
  const arrays = arrayParams(db)

  /** One chunk's upsert: its rows as column arrays (no JSON envelope), the batch row riding along with the first. */
  function upsert (summary: BatchSummary, rows: readonly ValidRecord[], batchRow: RawBuilder<unknown> | null, digestKey: number | null) {
    const statement = sql`
      insert into records (dataset_code, record_key, data, person_key, batch_id, source_unit, source_sub, source_client, sealed, blind, masked, person_digest, person_digest_key)
      select ${summary.dataset}, r.k, r.d, r.p, ${summary.batch}::uuid, ${summary.unit}, ${summary.sub}, ${summary.client}, r.s, r.b, r.m,
             r.h, case when r.h is null then null else ${digestKey}::int end
      from unnest(${arrays.text(rows.map((r) => r.key))}::text[], ${arrays.text(rows.map((r) => r.personKey))}::text[],
                  ${arrays.jsonb(rows.map((r) => r.data))}::jsonb[], ${arrays.bytea(rows.map((r) => r.sealed))}::bytea[],
                  ${arrays.jsonb(rows.map((r) => r.blind))}::jsonb[], ${arrays.jsonb(rows.map((r) => r.masked))}::jsonb[],
                  ${arrays.bytea(rows.map((r) => (digestKey === null ? null : r.personDigest)))}::bytea[]) as r(k, p, d, s, b, m, h)
      on conflict (dataset_code, record_key) do update set
        data = excluded.data,
        sealed = excluded.sealed,
        blind = excluded.blind,
        masked = excluded.masked,
        person_key = excluded.person_key,
        person_digest = excluded.person_digest,
        person_digest_key = excluded.person_digest_key,
        batch_id = excluded.batch_id,
        source_unit = excluded.source_unit,
        source_sub = excluded.source_sub,
        source_client = excluded.source_client,
        updated_at = now()`
    return batchRow ? sql`with batch as (${batchRow}) ${statement}` : statement
  }

  return {
    /**
     * Stores a batch: its `ingest_batches` row and its records, inserted or replaced by
     * (dataset_code, record_key). A replaced record keeps its created_at and takes the new data,
     * person key and provenance. Keys must be unique in `rows`. The batch row rides along with the
     * first upsert statement (a data-modifying CTE): one round trip fewer on every ingest. The
     * chunks' statements run one after another in `trx`; `prepare` works on chunk k + 1 while the
     * database writes chunk k, so a failure anywhere fails the whole call (and the transaction).
     */
    async ingest (summary: BatchSummary, rows: readonly ValidRecord[], trx: Db = db, { prepare, personDigestKey = null }: IngestOptions = {}): Promise<void> {
      const batchRow = sql`
        insert into ingest_batches (id, dataset_code, unit, sub, client, format, received, accepted, rejected, errors)
        values (${summary.batch}::uuid, ${summary.dataset}, ${summary.unit}, ${summary.sub}, ${summary.client}, ${summary.format},
                ${summary.received}, ${summary.accepted}, ${summary.rejected}, ${JSON.stringify(summary.errors)}::jsonb)`
      if (rows.length === 0) {
        await batchRow.execute(trx)
        return
      }
      const size = prepare ? UPSERT_CHUNK : UPSERT_CHUNK_ALONE
      let running: Promise<unknown> | null = null
      try {
        for (let i = 0; i < rows.length; i += size) {
          const chunk = rows.slice(i, i + size)
          prepare?.(chunk)
          const statement = upsert(summary, chunk, i === 0 ? batchRow : null, personDigestKey)
          await running
          running = statement.execute(trx)
          if (i + size < rows.length) await sent()
        }
        await running
      } catch (err) {
        // no statement of this batch is left running on the transaction's connection
        await running?.catch(() => {})
        throw err
      }
    },

    /** Deletes one record; what it was written by, or null when there is no such record. */
    async delete (dataset: string, key: string, trx: Db = db): Promise<{ batch: string } | null> {
      const row = await trx.deleteFrom('records')
        .where('dataset_code', '=', dataset).where('record_key', '=', key)
        .returning('batch_id')
        .executeTakeFirst()
      return row ? { batch: row.batch_id } : null
    },

    async find (dataset: string, key: string, trx: Db = db): Promise<StoredRecord | null> {
      return await trx.selectFrom('records').selectAll()
        .where('dataset_code', '=', dataset).where('record_key', '=', key)
        .executeTakeFirst() ?? null
    },

    /** A keyset page in key order: an index range scan of the primary key, however deep the page. */
    async page (dataset: string, { limit, after }: { limit: number, after?: string }, trx: Db = db): Promise<StoredRecord[]> {
      let query = trx.selectFrom('records').selectAll().where('dataset_code', '=', dataset).orderBy('record_key').limit(limit)
      if (after !== undefined) query = query.where('record_key', '>', after)
      return await query.execute()
    }
  }
}

export type RecordRepository = ReturnType<typeof createRecordRepository>
