import { checkRowFilter, type BlindLookup, type RowFilter } from '../../platform/row-filter.js'
import type { Dataset } from '../../db/database.js'
import { FieldError } from '../../platform/errors.js'
import { encryptedFields } from './codec.js'
import type { Encryption } from './plugin.js'

/**
 * A stored row filter (a share request's, a destruction's), checked against the dataset's fields
 * (400 naming `<base>.<field>…`). An encrypted field is matched through its blind index, so by
 * equality only: a range on it would select nothing, and a filter that silently selects nothing is
 * refused instead.
 */
export function checkSealedFilter (filter: Record<string, unknown>, dataset: Dataset, base: string): RowFilter {
  const checked = checkRowFilter(filter, dataset.fields, base)
  const encrypted = new Set(encryptedFields(dataset))
  for (const [name, condition] of Object.entries(checked)) {
    if (encrypted.has(name) && typeof condition === 'object' && !('in' in condition)) {
      throw new FieldError(`${base}.${name}`, 'the field is stored encrypted: it is matched by a value or {"in": [...]} only')
    }
  }
  return checked
}

/**
 * The blind indexes a filter needs when it names an encrypted field, else null. Asked before the
 * transaction that uses it, as ingest does: a data key is never made inside one.
 */
export async function blindFor (encryption: Encryption, dataset: Dataset, filter: Record<string, unknown> | null): Promise<BlindLookup | null> {
  if (filter === null || !encryptedFields(dataset).some((f) => Object.hasOwn(filter, f))) return null
  return await encryption.codec(dataset)
}
