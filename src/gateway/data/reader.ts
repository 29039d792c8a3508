import { CompiledQuery, sql, type Kysely } from 'kysely'
import { PREPARED } from '../../db/create-db.js'
import type { Database, Grant } from '../../db/database.js'
import { digestColumn, type PersonTracer } from '../../audit/index.js'
import { chooseGrant, type AccessMode } from '../../authorization/index.js'
import type { RowMasker } from '../../masking/index.js'
import type { MaskingKey } from '../../masking/index.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { campusToday } from '../../platform/calendar.js'
import { canSee } from '../../catalog/index.js'
import type { Encryption } from '../../catalog/index.js'
import { keptFormsOf } from '../../masking/index.js'
import type { DataCache } from './cache.js'
import { DataDatasetNotFoundError } from './errors.js'
import { withSelectedCount } from './consent.js'
import { chooseFields, compileMasker, grantView, parseWhere, predicateOf, type GrantView, type ParsedWhere } from './plan.js'
import { fillSealed, jsonColumns, jsonReadOf, jsonTextOf, sealedColumns, sealedReadOf, type JsonRead, type SealedRead } from './sealed-read.js'

/** Everything a read or an export needs, resolved and checked: the grant, the fields, the masks, the filters. */
export interface ReadPlan {
  /** what the plan's cached parts are derived under: grant, day and fields */
  id: string
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
  /** how the database writes the rows as JSON (`fetch` with `json`), or null when the gateway must mask them */
  json: JsonRead | null
  where: ParsedWhere
  /** campus day of the read (quotas) */
  day: string
}

/** `person_key`: whom the row is about, and `person_digest` its digest made at ingest (the person-access trace, audit/persons/trace.ts) */
export interface StoredRow { record_key: string, data: Record<string, unknown>, person_key?: string | null, person_digest?: Buffer | null, sealed?: Buffer | null }

/** A row fetched with `json`: its JSON text in pieces (sealed-read.ts), or where `fresh` is false, `data` (and `sealed`) to mask in the gateway. */
type JsonRow = StoredRow & Record<string, unknown> & { fresh?: boolean }

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
export function createDataReader ({ db, cache, key, encryption, tracer }: { db: Kysely<Database>, cache: DataCache, key: MaskingKey, encryption: Encryption, tracer: PersonTracer }) {
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
    const json = cache.derive(`json\u0000${grant.id}\u0000${day}\u0000${fields.join(',')}`, () => jsonReadOf(view, fields, sealed, key, todayDate))
    return { id: `${grant.id}\u0000${day}\u0000${fields.join(',')}`, grant, view, fields, masked, masker, sealed, keptMasker: sealed?.keptMasker ?? masker, json, where, day }
  }

  /**
   * Up to `limit` rows after `after` in record-key order (an index range scan of the primary key).
   * With `kept`, sealed fields come as their kept forms where they serve (mask with `keptMasker`);
   * else opened (mask with `masker`). With `json` (a plan whose `json` is set), each row comes as
   * the JSON text the read gives out, in pieces (`jsonRows` puts them together), but for rows whose kept forms do not serve, which
   * come as with `kept` (see `jsonRows`). With `counted`, a page under consent counts in the same
   * statement the rows consent left out (`pageConsentExcluded`).
   */
  /** The page statement of a fetch: `after` and `limit` are parameters, the rest is fixed by the plan and the options. */
  function pageStatement (p: ReadPlan, after: string | undefined, limit: number, { kept, counted, asJson }: { kept: boolean, counted: boolean, asJson: boolean }) {
    const predicate = predicateOf(p.view, p.where.filter)
    const afterKey = after === undefined ? sql`` : sql`and record_key > ${after}`
    // the digests of traced persons made at ingest (audit/persons/trace.ts)
    const persons = tracer.of(p.view.entry.dataset) ? sql`person_key, ${digestColumn(tracer)} as person_digest` : sql`person_key`
    const columns = asJson ? sql`record_key, ${persons}${jsonColumns(p.json!)}` : sql`record_key, data, ${persons}${sealedColumns(p.sealed, kept)}`
    const page = sql<StoredRow>`
      select ${columns} from records
      where dataset_code = ${p.grant.dataset_code} and ${predicate} ${afterKey}
      order by record_key limit ${limit}`
    // `counted`, under consent: each row also says how many rows the page stepped over (consent.ts)
    const statement = counted && p.view.consent ? withSelectedCount(p.view, p.where.filter, page, after, limit) : page
    // prepared on each connection (create-db.ts): a long text whose plan is the same for every page
    return sql<StoredRow>`${sql.raw(PREPARED)}${statement}`
  }

  /**
   * The page statement compiled once per plan and options, where only `after` and `limit` change
   * from page to page (no filters of the caller's, no consent count): its text and parameters, with
   * the places of those two.
   */
  function pageTemplate (p: ReadPlan, withAfter: boolean, options: { kept: boolean, counted: boolean, asJson: boolean }) {
    const AFTER = '\u0000after'
    const LIMIT = -987_654_321
    const compiled = pageStatement(p, withAfter ? AFTER : undefined, LIMIT, options).compile(db)
    const parameters = [...compiled.parameters]
    return { sql: compiled.sql, parameters, after: parameters.indexOf(AFTER), limit: parameters.indexOf(LIMIT) }
  }

  /**
   * Up to `limit` rows after `after` in record-key order (an index range scan of the primary key).
   * With `kept`, sealed fields come as their kept forms where they serve (mask with `keptMasker`);
   * else opened (mask with `masker`). With `json` (a plan whose `json` is set), each row comes as
   * the JSON text the read gives out, in pieces (`jsonRows` puts them together), but for rows whose
   * kept forms do not serve, which come as with `kept` (see `jsonRows`). With `counted`, a page
   * under consent counts in the same statement the rows consent left out (`pageConsentExcluded`).
   */
  async function fetch (p: ReadPlan, { after, limit, kept = false, counted = false, json = false }: { after?: string | undefined, limit: number, kept?: boolean, counted?: boolean, json?: boolean }): Promise<StoredRow[]> {
    const options = { kept, counted: counted && p.view.consent !== null, asJson: json && p.json !== null }
    let rows: StoredRow[]
    if (options.counted || Object.keys(p.where.filter).length > 0) {
      rows = (await pageStatement(p, after, limit, options).execute(db)).rows
    } else {
      const t = cache.derive(`page\u0000${p.id}\u0000${after !== undefined}\u0000${options.kept}\u0000${options.asJson}`, () => pageTemplate(p, after !== undefined, options))
      const parameters = [...t.parameters]
      if (t.after >= 0) parameters[t.after] = after
      parameters[t.limit] = limit
      rows = (await db.executeQuery<StoredRow>(CompiledQuery.raw(t.sql, parameters))).rows
    }
    if (options.asJson) {
      if (p.sealed && p.json!.kept) fillSealed(p.sealed, (rows as JsonRow[]).filter((r) => r.fresh === false), true)
    } else if (p.sealed) {
      fillSealed(p.sealed, rows, kept)
    }
    return rows
  }

  /** The JSON text of the first `count` rows of a `json` fetch, as the read gives them out. */
  function jsonRows (p: ReadPlan, rows: readonly StoredRow[], count: number): string[] {
    const out = new Array<string>(count)
    for (let i = 0; i < count; i++) {
      const row = rows[i] as JsonRow
      out[i] = row.fresh === false ? JSON.stringify(p.keptMasker(row.data)) : jsonTextOf(p.json!, row)
    }
    return out
  }

  return { plan, fetch, jsonRows }
}

export type DataReader = ReturnType<typeof createDataReader>
