import { sql, type RawBuilder } from 'kysely'
import { checkRowFilter, rowFilterSql, type BlindLookup, type RowFilter } from '../../authorization/row-filter.js'
import type { Dataset, Destruction } from '../../db/database.js'
import { FieldError } from '../../platform/errors.js'
import { encryptedFields } from '../encryption/codec.js'
import type { Encryption } from '../encryption/plugin.js'

/**
 * A proposal's filter, checked against the dataset's fields (400 naming `filter.<field>…`). An
 * encrypted field is matched through its blind index, so by equality only: a range on it would
 * select nothing, and a proposal that silently destroys nothing is refused instead.
 */
export function checkFilter (filter: Record<string, unknown>, dataset: Dataset): RowFilter {
  const checked = checkRowFilter(filter, dataset.fields, 'filter')
  const encrypted = new Set(encryptedFields(dataset))
  for (const [name, condition] of Object.entries(checked)) {
    if (encrypted.has(name) && typeof condition === 'object' && !('in' in condition)) {
      throw new FieldError(`filter.${name}`, 'the field is stored encrypted: it is matched by a value or {"in": [...]} only')
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

/**
 * The records a destruction covers. `expired` is the notion of the retention report (quality):
 * records first stored (`created_at`) before the cutoff, which the proposal fixed when it was made,
 * so that execution destroys what the reviewers approved and no record that expired since.
 */
export function scopePredicate (
  d: Pick<Destruction, 'scope' | 'cutoff'>, filter: RowFilter | null, dataset: Dataset, blind: BlindLookup | null
): RawBuilder<boolean> {
  switch (d.scope) {
    case 'all': return sql<boolean>`true`
    case 'expired': return sql<boolean>`created_at < ${d.cutoff!}`
    case 'filter': return rowFilterSql(filter!, dataset.fields, blind)
  }
}
