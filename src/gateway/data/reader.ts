import { sql, type Kysely } from 'kysely'
import type { Database, Grant } from '../../db/database.js'
import { chooseGrant, type AccessMode } from '../../authorization/grants/resolve.js'
import type { RowMasker } from '../../masking/engine.js'
import type { MaskingKey } from '../../masking/keys.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { campusToday } from '../../platform/calendar.js'
import { canSee } from '../../catalog/datasets/access.js'
import type { Encryption } from '../../catalog/encryption/plugin.js'
import { keptFormsOf } from '../../masking/kept-forms.js'
import type { DataCache } from './cache.js'
import { DataDatasetNotFoundError } from './errors.js'
import { withSelectedCount } from './consent.js'
import { chooseFields, compileMasker, grantView, parseWhere, predicateOf, type GrantView, type ParsedWhere } from './plan.js'
import { fillSealed, sealedColumns, sealedReadOf, type SealedRead } from './sealed-read.js'

/** Everything a read or an export needs, resolved and checked: the grant, the fields, the masks, the filters. */
export interface ReadPlan {
  grant: Grant
  view: GrantView
  /** the fields given out, in the dataset's order */
  fields: string[]
  /** of those, the ones masked (or withheld) by the grant's policy */
  masked: string[]
  masker: RowMasker
  /** how sealed fields are opened or taken from their kept forms; null when none is sealed */
  sealed: SealedRead | null
  /** the masker of rows fetched with `kept: true` */
  keptMasker: RowMasker
  where: ParsedWhere
  /** campus day of the read (quotas) */
  day: string
}

/** `person_key`: whom the row is about (the person-access trace, audit/persons/trace.ts) */
export interface StoredRow { record_key: string, data: Record<string, unknown>, person_key?: string | null, sealed?: Buffer | null }

export interface PlanInput {
  grant?: string | undefined
  fields?: string | undefined
  /** the query string, for where[…] filters */
  query?: Record<string, unknown>
}

/**
 * The read side of the data path, shared by page reads and exports: resolves the caller's grant
 * (deny unless granted), checks fields and filters against it, compiles its masks once per grant
 * and catalog version, and runs keyset-paged queries that AND the grant's row filter with the
 * caller's filters.
 */
export function createDataReader ({ db, cache, key, encryption }: { db: Kysely<Database>, cache: DataCache, key: MaskingKey, encryption: Encryption }) {
  async function plan (principal: Principal, dataset: string, mode: AccessMode, input: PlanInput): Promise<ReadPlan> {
    const entry = await cache.dataset(dataset)
    // another unit's draft is as absent as an unknown code (404), not a dataset one lacks a grant on (403)
    if (!entry || !canSee(principal, entry.dataset)) throw new DataDatasetNotFoundError(dataset)
    const day = campusToday()
    const grant = chooseGrant(principal, dataset, mode, await cache.grantsOf(principal.unit, dataset), input.grant, day)
    const todayDate = new Date(`${day}T00:00:00+08:00`)
    const codec = await cache.derive(`codec\u0000${dataset}`, async () => await encryption.codec(entry.dataset))
    const view = cache.derive(`view\u0000${grant.id}\u0000${day}`, () => grantView(grant, entry, key, todayDate, codec))
    const fields = chooseFields(view, input.fields)
    const where = parseWhere(view, input.query ?? {})
    const masker = cache.derive(`mask\u0000${grant.id}\u0000${day}\u0000${fields.join(',')}`, () => compileMasker(view, fields, key, todayDate))
    const masked = fields.filter((f) => view.fields.get(f)!.masked)
    const forms = cache.derive(`kept\u0000${dataset}`, () => codec ? keptFormsOf(entry.dataset.fields, entry.profiles, codec.fields) : null)
    const sealed = cache.derive(`sealed\u0000${grant.id}\u0000${day}\u0000${fields.join(',')}`, () => sealedReadOf(view, fields, forms, key, todayDate, masker))
    return { grant, view, fields, masked, masker, sealed, keptMasker: sealed?.keptMasker ?? masker, where, day }
  }

  /**
   * Up to `limit` rows after `after` in record-key order (an index range scan of the primary key).
   * With `kept`, sealed fields come as their kept forms where they serve (mask with `keptMasker`);
   * else opened (mask with `masker`). With `counted`, a page under consent counts in the same
   * statement the rows consent left out (`pageConsentExcluded`).
   */
  async function fetch (p: ReadPlan, { after, limit, kept = false, counted = false }: { after?: string | undefined, limit: number, kept?: boolean, counted?: boolean }): Promise<StoredRow[]> {
    const predicate = predicateOf(p.view, p.where.filter)
    const afterKey = after === undefined ? sql`` : sql`and record_key > ${after}`
    const page = sql<StoredRow>`
      select record_key, data, person_key${sealedColumns(p.sealed, kept)} from records
      where dataset_code = ${p.grant.dataset_code} and ${predicate} ${afterKey}
      order by record_key limit ${limit}`
    // `counted`, under consent: each row also says how many rows the page stepped over (consent.ts)
    const result = await (counted && p.view.consent ? withSelectedCount(p.view, p.where.filter, page, after, limit) : page).execute(db)
    if (p.sealed) fillSealed(p.sealed, result.rows, kept)
    return result.rows
  }

  return { plan, fetch }
}

export type DataReader = ReturnType<typeof createDataReader>
