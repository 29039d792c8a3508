import type { Dataset } from '../../db/database.js'
import { AeadError, open, seal } from '../../platform/aead.js'
import { encryptedFields } from '../encryption/codec.js'
import type { Encryption } from '../encryption/plugin.js'
import { DataKeyDestroyedError } from '../encryption/keyring.js'
import type { RecordCorrection } from './table.js'

type Facts = Pick<Dataset, 'code' | 'fields' | 'grade' | 'encrypted_fields' | 'primary_key' | 'person_key'>

/**
 * A proposed value is stored as the record's value of that field would be (R9.5): sealed under the
 * dataset's data key with the record codec's cipher suite when the field is encrypted, JSON in the
 * clear otherwise. The associated data binds a sealed value to its correction and field, so a blob
 * moved to another correction, or into a record, does not open there.
 */
const aad = (dataset: string, id: string, field: string) => Buffer.from(`datagate-correction\u0000${dataset}\u0000${id}\u0000${field}`)

export function isSealed (dataset: Facts, field: string): boolean {
  return encryptedFields(dataset).includes(field)
}

/** The columns that store a proposal (both null without one). */
export async function storedProposal (encryption: Encryption, dataset: Facts, id: string, field: string, value: unknown) {
  if (value === undefined) return { proposed_value: null, proposed_sealed: null }
  if (!isSealed(dataset, field)) return { proposed_value: JSON.stringify(value), proposed_sealed: null }
  const key = (await encryption.keyring.dataKey(dataset.code))!
  return { proposed_value: null, proposed_sealed: seal(encryption.suite, key, Buffer.from(JSON.stringify(value)), aad(dataset.code, id, field)) }
}

/** The proposal, opened: `absent` when there is none, `unreadable` when its key was destroyed or the blob does not open. */
export async function openedProposal (encryption: Encryption, row: RecordCorrection): Promise<{ value: unknown } | 'absent' | 'unreadable'> {
  if (row.proposed_sealed === null) return row.proposed_value === null ? 'absent' : { value: row.proposed_value }
  try {
    const key = await encryption.keyring.dataKey(row.dataset_code, { create: false })
    if (!key) return 'unreadable'
    return { value: JSON.parse(open(key, Buffer.from(row.proposed_sealed), aad(row.dataset_code, row.id, row.field)).toString('utf8')) }
  } catch (err) {
    if (err instanceof AeadError || err instanceof DataKeyDestroyedError) return 'unreadable'
    throw err
  }
}
