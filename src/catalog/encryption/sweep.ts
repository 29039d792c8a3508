import { setTimeout as sleep } from 'node:timers/promises'
import { sql, type Kysely } from 'kysely'
import type { Database, Dataset } from '../../db/database.js'
import type { KeptForms } from '../../masking/index.js'
import { ENCRYPTED_MARK, encryptedFields } from './codec.js'
import type { Encryption } from './plugin.js'
import { keptFormsFor } from './seal-records.js'

const BATCH = 1000

type Facts = Pick<Dataset, 'code' | 'fields' | 'grade' | 'encrypted_fields' | 'primary_key' | 'person_key'>

/** Records of a dataset holding a value in the clear in a field that is to be encrypted. */
function clearValue (fields: readonly string[]) {
  return sql.join(fields.map((f) => sql`(data ? ${f} and jsonb_typeof(data -> ${f}) <> 'null' and data ->> ${f} <> ${ENCRYPTED_MARK})`), sql` or `)
}

/**
 * Records the sweep rewrites: a value still clear, or masked forms made with other rules than
 * `digest` (or kept when none should be any more: the policy no longer allows them).
 */
function stale (fields: readonly string[], digest: string | null) {
  const forms = digest === null ? sql`masked is not null` : sql`(sealed is not null and (masked ->> '#') is distinct from ${digest})`
  return sql`(${clearValue(fields)} or ${forms})`
}

export async function countClear (db: Kysely<Database>, dataset: Facts): Promise<number> {
  const fields = encryptedFields(dataset)
  if (fields.length === 0) return 0
  const row = await sql<{ n: number }>`select count(*)::int as n from records where dataset_code = ${dataset.code} and (${clearValue(fields)})`.execute(db)
  return row.rows[0]!.n
}

/** How a background sweep shares the database with the requests. */
export interface SweepPace {
  /** once aborted (the app closing), the sweep stops after the batch under way */
  signal?: AbortSignal
  /**
   * After each batch, wait this many times as long as the batch took (0: none). PGlite is one
   * connection, which a batch holds: resting as long lets the requests (and the start-up's own
   * queries) have it at least half of the time while a large backlog is swept.
   */
  rest?: number
}

interface StaleRow { record_key: string, data: Record<string, unknown>, sealed: Buffer | null, blind: Record<string, string> | null }

/**
 * Brings a dataset's records to what ingest writes today, in batches of a thousand records each
 * committed on its own, in key order: the values of encrypted fields still held in the clear
 * (records stored before a field was marked, or before every PI field was sealed) are sealed, and
 * the masked forms kept beside sealed values are made again where the rules they were made with
 * changed. Running it again continues where it stopped, as it does once `pace.signal` is aborted.
 * Returns the records rewritten.
 */
export async function sealExisting (db: Kysely<Database>, enc: Encryption, dataset: Facts, { signal, rest = 0 }: SweepPace = {}): Promise<number> {
  const codec = await enc.codec(dataset)
  if (!codec) return 0
  const fields = [...codec.fields]
  let done = 0
  let after: string | null = null
  for (;;) {
    if (signal?.aborted) return done
    const started = performance.now()
    // each batch under the dataset's row lock, as ingest takes it: no batch of records is written
    // between reading these rows and rewriting them, and the policy read is the one ingest sees
    const n: number = await db.transaction().execute(async (trx) => {
      await trx.selectFrom('datasets').select('code').where('code', '=', dataset.code).forUpdate().execute()
      const forms: KeptForms | null = await keptFormsFor(trx, dataset, codec.fields)
      const rows = await sql<StaleRow>`
        select record_key, data, sealed, blind from records
        where dataset_code = ${dataset.code} ${after === null ? sql`` : sql`and record_key > ${after}`} and ${stale(fields, forms?.digest ?? null)}
        order by record_key limit ${BATCH}`.execute(trx)
      if (rows.rows.length === 0) return 0
      const updates = rows.rows.map((r) => {
        const masked = forms ? forms.of(codec.decode(r.record_key, { ...r.data }, r.sealed)) : null
        const { sealed, blind } = codec.encode(r.record_key, r.data, r.sealed)
        // Buffer.from: PGlite gives bytea as a Uint8Array, whose toString is not base64
        return { k: r.record_key, d: r.data, s: sealed ? Buffer.from(sealed).toString('base64') : null, b: r.blind || blind ? { ...r.blind, ...blind } : null, m: masked }
      })
      await sql`
        update records set data = u.d, sealed = decode(u.s, 'base64'), blind = u.b, masked = u.m
        from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as u(k text, d jsonb, s text, b jsonb, m jsonb)
        where records.dataset_code = ${dataset.code} and records.record_key = u.k`.execute(trx)
      after = rows.rows[rows.rows.length - 1]!.record_key
      return updates.length
    })
    if (n === 0) return done
    done += n
    if (rest > 0) await sleep((performance.now() - started) * rest, undefined, { signal }).catch(() => {})
  }
}

/** What the sweep last brought each live dataset's records to, with the dataset. */
async function sweepStates (db: Kysely<Database>) {
  return await db.selectFrom('datasets')
    .leftJoin('encryption_sweeps as s', 's.dataset_code', 'datasets.code')
    .selectAll('datasets').select(['s.fields as swept_fields', 's.masked_digest as swept_digest'])
    .where('datasets.status', '<>', 'destroyed')
    .orderBy('datasets.code')
    .execute()
}

export interface EncryptionSweep { dataset: string, records: number }

/**
 * The background sweep: every live dataset whose records the sweep has not yet brought to its
 * encrypted fields and to the masked forms of its policy as they are now (after an upgrade, a
 * mark, a policy or field change) is swept by `sealExisting`, and its state recorded. A dataset
 * whose sweep fails (its key destroyed meanwhile) is left for the next run. Once `pace.signal` is
 * aborted (the app closing) it stops after the batch under way, and records nothing of the dataset
 * it was sweeping: the next run continues it. Returns the datasets swept.
 */
export async function sweepEncryption (db: Kysely<Database>, enc: Encryption, onError: (dataset: string, err: unknown) => void = () => {}, pace: SweepPace = {}): Promise<EncryptionSweep[]> {
  const { signal } = pace
  const swept: EncryptionSweep[] = []
  for (const d of await sweepStates(db)) {
    if (signal?.aborted) break
    const fields = encryptedFields(d)
    const digest = fields.length === 0 ? null : (await keptFormsFor(db, d, new Set(fields)))?.digest ?? null
    if (d.swept_fields !== null && d.swept_fields.join(',') === fields.join(',') && d.swept_digest === digest) continue
    try {
      const held = fields.length > 0 && await db.selectFrom('records').select('record_key').where('dataset_code', '=', d.code).limit(1).executeTakeFirst()
      const records = held ? await sealExisting(db, enc, d, pace) : 0
      if (signal?.aborted) break
      await db.insertInto('encryption_sweeps').values({ dataset_code: d.code, fields, masked_digest: digest, records, swept_at: new Date() })
        .onConflict((oc) => oc.column('dataset_code').doUpdateSet({ fields, masked_digest: digest, records, swept_at: new Date() }))
        .execute()
      swept.push({ dataset: d.code, records })
    } catch (err) {
      onError(d.code, err)
    }
  }
  return swept
}
