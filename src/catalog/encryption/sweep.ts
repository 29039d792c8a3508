import { sql, type Kysely } from 'kysely'
import type { Database, Dataset } from '../../db/database.js'
import { ENCRYPTED_MARK, encryptedFields } from './codec.js'
import type { Encryption } from './plugin.js'

const BATCH = 1000

/** Records of a dataset holding a value in the clear in a field that is to be encrypted. */
function clearValue (fields: readonly string[]) {
  return sql.join(fields.map((f) => sql`(data ? ${f} and jsonb_typeof(data -> ${f}) <> 'null' and data ->> ${f} <> ${ENCRYPTED_MARK})`), sql` or `)
}

export async function countClear (db: Kysely<Database>, dataset: Pick<Dataset, 'code' | 'fields' | 'grade' | 'encrypted_fields' | 'primary_key' | 'person_key'>): Promise<number> {
  const fields = encryptedFields(dataset)
  if (fields.length === 0) return 0
  const row = await sql<{ n: number }>`select count(*)::int as n from records where dataset_code = ${dataset.code} and (${clearValue(fields)})`.execute(db)
  return row.rows[0]!.n
}

/**
 * Encrypts, in batches of a thousand records each committed on its own, the values of a dataset's
 * encrypted fields still held in the clear (records stored before a field was marked, or before
 * encryption at rest existed). Running it again continues where it stopped. Returns the records
 * rewritten.
 */
export async function sealExisting (db: Kysely<Database>, enc: Encryption, dataset: Pick<Dataset, 'code' | 'fields' | 'grade' | 'encrypted_fields' | 'primary_key' | 'person_key'>): Promise<number> {
  const codec = await enc.codec(dataset)
  if (!codec) return 0
  const fields = [...codec.fields]
  let done = 0
  for (;;) {
    // each batch under the dataset's row lock, as ingest takes it: no batch of records is written
    // between reading these rows and rewriting them
    const n = await db.transaction().execute(async (trx) => {
      await trx.selectFrom('datasets').select('code').where('code', '=', dataset.code).forUpdate().execute()
      const rows = await sql<{ record_key: string, data: Record<string, unknown>, sealed: Buffer | null, blind: Record<string, string> | null }>`
        select record_key, data, sealed, blind from records
        where dataset_code = ${dataset.code} and (${clearValue(fields)})
        order by record_key limit ${BATCH}`.execute(trx)
      if (rows.rows.length === 0) return 0
      const updates = rows.rows.map((r) => {
        const { sealed, blind } = codec.encode(r.record_key, r.data, r.sealed)
        return { k: r.record_key, d: r.data, s: sealed?.toString('base64') ?? null, b: { ...(r.blind ?? {}), ...(blind ?? {}) } }
      })
      await sql`
        update records set data = u.d, sealed = decode(u.s, 'base64'), blind = u.b
        from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as u(k text, d jsonb, s text, b jsonb)
        where records.dataset_code = ${dataset.code} and records.record_key = u.k`.execute(trx)
      return updates.length
    })
    if (n === 0) return done
    done += n
  }
}
