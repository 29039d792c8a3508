import { createHmac } from 'node:crypto'
import { keyedDigest } from '../../platform/digest.js'
import type { Dataset } from '../../db/database.js'
import { AeadError, open, seal, type AeadSuite } from '../../platform/aead.js'
import { SENSITIVE_PI_TYPES } from '../../platform/vocabulary.js'
import type { Keyring } from './keyring.js'

/**
 * In `records.data`, an encrypted field's value is replaced by this mark; the values themselves are
 * sealed together, one blob per record, in `records.sealed` (one cipher operation per record read).
 */
export const ENCRYPTED_MARK = 'enc:v1'

type EncryptionFacts = Pick<Dataset, 'fields' | 'grade' | 'encrypted_fields' | 'primary_key' | 'person_key'>

/**
 * The fields of a dataset stored encrypted: every field with a PI type (003 3(1): personal
 * information is stored encrypted; R9.1), and the fields of an important dataset the office marked.
 * Key fields (primary and person key) stay in the clear: records are found by them.
 */
export function encryptedFields (dataset: EncryptionFacts): string[] {
  const keys = new Set([...dataset.primary_key, ...(dataset.person_key ? [dataset.person_key] : [])])
  const marked = new Set(dataset.grade === 'important' ? dataset.encrypted_fields : [])
  return dataset.fields
    .filter((f) => !keys.has(f.name) && (f.piType !== null || marked.has(f.name)))
    .map((f) => f.name)
}

/** Why a field is encrypted: its PI type (sensitive or not), or the office's mark. */
export function encryptionReason (field: { piType: string | null }): 'sensitive_pi' | 'pi' | 'marked' {
  if (field.piType === null) return 'marked'
  return SENSITIVE_PI_TYPES.has(field.piType) ? 'sensitive_pi' : 'pi'
}

/** Blind indexes of a dataset: the search key of an encrypted field's value, keyed by the dataset's data key. */
export interface BlindIndex {
  fields: ReadonlySet<string>
  of (field: string, value: unknown): string
}

export interface RecordCodec extends BlindIndex {
  /**
   * Moves the record's values of encrypted fields (in place) into a sealed blob, leaving marks; the
   * values already sealed in `sealed` (a record sealed before another field was marked) are kept.
   * Returns the blob and the blind indexes, or nulls when nothing is encrypted.
   */
  encode (recordKey: string, data: Record<string, unknown>, sealed?: Buffer | null): { sealed: Buffer | null, blind: Record<string, string> | null }
  /** puts back, in place, the values of `only` (default all) from the sealed blob; a blob that does not open withholds them */
  decode (recordKey: string, data: Record<string, unknown>, sealed: Buffer | null, only?: readonly string[]): Record<string, unknown>
}

const aad = (dataset: string, recordKey: string) => Buffer.from(`${dataset}\u0000${recordKey}`)

/**
 * The codec of a dataset's records, or null when it has no encrypted field. A record's encrypted
 * values are sealed together with the dataset code and the record key as associated data: a blob
 * moved to another record does not open there.
 */
export async function codecFor (keyring: Keyring, dataset: EncryptionFacts & Pick<Dataset, 'code'>, suite: AeadSuite): Promise<RecordCodec | null> {
  const names = encryptedFields(dataset)
  if (names.length === 0) return null
  const dataKey = (await keyring.dataKey(dataset.code))!
  const blindDigest = keyedDigest('sha256', createHmac('sha256', dataKey).update('datagate-blind-index').digest(), 'buffer')
  const fields: ReadonlySet<string> = new Set(names)
  const of = (field: string, value: unknown) => blindDigest(`${field}\u0000${JSON.stringify(value)}`).toString('base64url', 0, 16)

  function opened (recordKey: string, sealed: Buffer): Record<string, unknown> | null {
    try {
      return JSON.parse(open(dataKey, sealed, aad(dataset.code, recordKey)).toString('utf8')) as Record<string, unknown>
    } catch (err) {
      if (err instanceof AeadError) return null
      throw err
    }
  }

  return {
    fields,
    of,
    encode (recordKey, data, sealed) {
      let values: Record<string, unknown> | null = null
      let blind: Record<string, string> | null = null
      for (const name of names) {
        const value = data[name]
        if (value === undefined || value === null || value === ENCRYPTED_MARK) continue
        ;(values ??= {})[name] = value
        ;(blind ??= {})[name] = of(name, value)
        data[name] = ENCRYPTED_MARK
      }
      if (values === null) return { sealed: sealed ?? null, blind: null }
      const earlier = sealed ? opened(recordKey, sealed) : null
      const all = earlier ? { ...earlier, ...values } : values
      return { sealed: seal(suite, dataKey, Buffer.from(JSON.stringify(all)), aad(dataset.code, recordKey)), blind }
    },
    decode (recordKey, data, sealed, only) {
      const wanted = only ?? names
      let values: Record<string, unknown> | null | undefined
      for (const name of wanted) {
        if (!fields.has(name) || data[name] !== ENCRYPTED_MARK) continue
        if (values === undefined) values = sealed ? opened(recordKey, sealed) : null
        // a blob that does not open (changed, or moved from another record) withholds its fields
        if (values && Object.hasOwn(values, name)) data[name] = values[name]
        else delete data[name]
      }
      return data
    }
  }
}
