import type { Kysely, Transaction } from 'kysely'
import type { Database, Dataset } from '../../db/database.js'
import { keptFormsOf, type KeptForms } from '../../masking/index.js'
import { createPolicyRepository } from '../../masking/index.js'
import type { ValidRecord } from '../records/validate.js'
import type { Encryption } from './plugin.js'

type Db = Kysely<Database> | Transaction<Database>
type Facts = Pick<Dataset, 'code' | 'fields' | 'grade' | 'encrypted_fields' | 'primary_key' | 'person_key'>

/** The kept forms of a dataset's sealed fields under its masking policy as it is now (read in `db`, the caller's transaction). */
export async function keptFormsFor (db: Db, dataset: Pick<Dataset, 'code' | 'fields'>, sealed: ReadonlySet<string>): Promise<KeptForms | null> {
  const policy = await createPolicyRepository(db as Kysely<Database>).find(dataset.code, db)
  return keptFormsOf(dataset.fields, policy?.profiles ?? {}, sealed)
}

/**
 * What seals a batch's records for storage, in place, or null when the dataset seals nothing: the
 * values of encrypted fields into one blob per record with their blind indexes (R9.1, 003 3(1)),
 * and their masked forms that do not depend on the grant kept beside (records.masked), made from
 * the values before they are sealed. The key and the policy are read here; the sealing itself is
 * synchronous, so that ingest runs it chunk by chunk while the database writes the chunk before.
 */
export async function recordSealer (enc: Encryption, dataset: Facts, trx: Db): Promise<((rows: ValidRecord[]) => void) | null> {
  const codec = await enc.codec(dataset)
  if (!codec) return null
  const forms = await keptFormsFor(trx, dataset, codec.fields)
  return (rows) => {
    for (const r of rows) {
      r.masked = forms?.of(r.data) ?? null
      ;({ sealed: r.sealed, blind: r.blind } = codec.encode(r.key, r.data))
    }
  }
}

/** Seals a batch's records for storage, in place (see recordSealer). */
export async function sealRecords (enc: Encryption, dataset: Facts, rows: ValidRecord[], trx: Db): Promise<void> {
  (await recordSealer(enc, dataset, trx))?.(rows)
}
