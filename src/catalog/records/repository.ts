import { sql, type Kysely, type Transaction } from 'kysely'
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
 * Records per upsert statement. The rows travel as one JSON parameter (not 8 parameters a row), so
 * PostgreSQL's 65,535-parameter limit does not apply; the chunk bounds the statement's memory.
 */
export const UPSERT_CHUNK = 5000

export function createRecordRepository (db: Kysely<Database>) {
  return {
    /**
     * Stores a batch: its `ingest_batches` row and its records, inserted or replaced by
     * (dataset_code, record_key). A replaced record keeps its created_at and takes the new data,
     * person key and provenance. Keys must be unique in `rows`. The batch row rides along with the
     * first upsert statement (a data-modifying CTE): one round trip fewer on every ingest.
     */
    async ingest (summary: BatchSummary, rows: readonly ValidRecord[], trx: Db = db): Promise<void> {
      const batchRow = sql`
        insert into ingest_batches (id, dataset_code, unit, sub, client, format, received, accepted, rejected, errors)
        values (${summary.batch}::uuid, ${summary.dataset}, ${summary.unit}, ${summary.sub}, ${summary.client}, ${summary.format},
                ${summary.received}, ${summary.accepted}, ${summary.rejected}, ${JSON.stringify(summary.errors)}::jsonb)`
      if (rows.length === 0) {
        await batchRow.execute(trx)
        return
      }
      for (let i = 0; i < rows.length; i += UPSERT_CHUNK) {
        const payload = JSON.stringify(rows.slice(i, i + UPSERT_CHUNK).map((r) => ({ k: r.key, p: r.personKey, d: r.data, s: r.sealed?.toString('base64') ?? null, b: r.blind ?? null, m: r.masked ?? null })))
        const upsert = sql`
          insert into records (dataset_code, record_key, data, person_key, batch_id, source_unit, source_sub, source_client, sealed, blind, masked)
          select ${summary.dataset}, r.k, r.d, r.p, ${summary.batch}::uuid, ${summary.unit}, ${summary.sub}, ${summary.client}, decode(r.s, 'base64'), r.b, r.m
          from jsonb_to_recordset(${payload}::jsonb) as r(k text, p text, d jsonb, s text, b jsonb, m jsonb)
          on conflict (dataset_code, record_key) do update set
            data = excluded.data,
            sealed = excluded.sealed,
            blind = excluded.blind,
            masked = excluded.masked,
            person_key = excluded.person_key,
            batch_id = excluded.batch_id,
            source_unit = excluded.source_unit,
            source_sub = excluded.source_sub,
            source_client = excluded.source_client,
            updated_at = now()`
        await (i === 0 ? sql`with batch as (${batchRow}) ${upsert}` : upsert).execute(trx)
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
