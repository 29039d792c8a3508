import { sql, type RawBuilder } from 'kysely'
import { rowFilterSql, type BlindLookup, type RowFilter } from '../../platform/row-filter.js'
import type { Dataset, Destruction } from '../../db/database.js'
import { checkSealedFilter } from '../encryption/filter.js'

/** A proposal's filter, checked against the dataset's fields (400 naming `filter.<field>…`). */
export const checkFilter = (filter: Record<string, unknown>, dataset: Dataset): RowFilter => checkSealedFilter(filter, dataset, 'filter')

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
