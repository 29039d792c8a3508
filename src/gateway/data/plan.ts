import { sql, type RawBuilder } from 'kysely'
import type { Grant, StoredField } from '../../db/database.js'
import { consentPredicate } from '../../authorization/index.js'
import { checkRowFilter, FILTER_OPERATORS, rowFilterSql, type RowFilter } from '../../platform/row-filter.js'
import { compileRules, type RowMasker, type Rules } from '../../masking/index.js'
import type { MaskingKey } from '../../masking/index.js'
import { effectiveRules, type EffectiveRule } from '../../masking/index.js'
import type { Profile } from '../../masking/index.js'
import { openKeyCursor, sealKeyCursor } from '../../platform/aead.js'
import { FieldError } from '../../platform/errors.js'
import type { RecordCodec } from '../../catalog/index.js'
import type { DatasetEntry } from './cache.js'
import { FieldsNotGrantedError } from './errors.js'

/** Page sizes of the read API. */
export const MAX_LIMIT = 1000
export const DEFAULT_LIMIT = 100
export const MAX_FILTERS = 20

/** The operators a caller may use in `where[field][op]`; a bare `where[field]` is equality. */
export const WHERE_OPERATORS = ['eq', ...FILTER_OPERATORS] as const
/** On a masked field only equality: ranges would reveal what the mask hides. */
export const MASKED_FIELD_OPERATORS = ['eq', 'in'] as const

/**
 * The masking profile of a grant: third parties get the third-party profile, the campus's own
 * systems the display profile; a grant the office approved unmasked (for a named reason) gets the
 * granted fields as they are.
 */
export function profileOf (grant: Pick<Grant, 'masked' | 'third_party'>): Profile | null {
  if (grant.third_party) return 'third_party'
  return grant.masked ? 'display' : null
}

/** How one granted field is given out: its rule, and what filters it takes. */
export interface FieldPlan {
  field: StoredField
  rule: EffectiveRule
  masked: boolean
  operators: readonly string[]
}

/** What a grant allows on its dataset: computed once per grant and catalog version, then cached. */
export interface GrantView {
  grant: Grant
  entry: DatasetEntry
  profile: Profile | null
  /** granted fields that still exist, in the dataset's order */
  fields: Map<string, FieldPlan>
  /** the grant's own row filter, compiled */
  rowFilter: RawBuilder<boolean>
  /** how the dataset's encrypted fields are read and searched; null when none is */
  codec: RecordCodec | null
  /** a grant resting on consent: the condition that the row's person consented (consent-filter.ts); null otherwise */
  consent: RawBuilder<boolean> | null
}

const keep: EffectiveRule = { rule: { strategy: 'keep' }, source: 'default' }

export function grantView (grant: Grant, entry: DatasetEntry, key: MaskingKey, today: Date, codec: RecordCodec | null = null): GrantView {
  const profile = profileOf(grant)
  const granted = new Set(grant.fields)
  const fields = entry.dataset.fields.filter((f) => granted.has(f.name))
  const rules = profile === null
    ? Object.fromEntries(fields.map((f) => [f.name, keep]))
    : effectiveRules(fields, entry.profiles, profile, { key, scope: grant.id, today })
  const plans = new Map<string, FieldPlan>()
  for (const f of fields) {
    const rule = rules[f.name]!
    const masked = rule.rule.strategy !== 'keep'
    // an encrypted field is searched by its blind index: equality only, as for a masked one
    const equalityOnly = masked || (codec?.fields.has(f.name) ?? false)
    plans.set(f.name, { field: f, rule, masked, operators: equalityOnly ? MASKED_FIELD_OPERATORS : WHERE_OPERATORS })
  }
  return {
    grant,
    entry,
    profile,
    fields: plans,
    codec,
    rowFilter: rowFilterSql(grant.row_filter, entry.dataset.fields, codec),
    consent: consentPredicate(grant, entry.dataset)
  }
}

/**
 * A compiled row function for a choice of fields (in the dataset's order); the fields in `masked`
 * arrive masked already (kept forms, see sealed-read.ts) and pass as they are.
 */
export function compileMasker (view: GrantView, fields: readonly string[], key: MaskingKey, today: Date, masked?: ReadonlySet<string>): RowMasker {
  const rules: Rules = {}
  for (const name of fields) rules[name] = masked?.has(name) ? { strategy: 'keep' } : view.fields.get(name)!.rule.rule
  return compileRules(rules, { key, scope: view.grant.id, today }, { others: 'redact' })
}

/**
 * The fields a caller asks for (`fields=a,b`), all granted ones by default. Asking for a field the
 * grant does not hold is 403 naming it, whether or not the dataset has it: nothing about ungranted
 * fields is told.
 */
export function chooseFields (view: GrantView, requested: string | undefined): string[] {
  if (requested === undefined || requested.trim() === '') return [...view.fields.keys()]
  const names = [...new Set(requested.split(',').map((s) => s.trim()).filter(Boolean))]
  if (names.length > 200) throw new FieldError('fields', 'at most 200 fields')
  const outside = names.filter((n) => !view.fields.has(n))
  if (outside.length > 0) throw new FieldsNotGrantedError(`fields not within your grant: ${outside.join(', ')}`)
  const wanted = new Set(names)
  return [...view.fields.keys()].filter((n) => wanted.has(n))
}

const WHERE_KEY = /^where\[([^[\]]{1,100})\](?:\[([a-z]{1,10})\])?$/

/** Turns one query value to the field's type; the row-filter check then validates it. */
function typed (field: StoredField, raw: string): unknown {
  switch (field.type) {
    case 'integer': case 'number': {
      if (raw.trim() === '') return raw
      const n = Number(raw)
      return Number.isFinite(n) ? n : raw
    }
    case 'boolean': return raw === 'true' ? true : raw === 'false' ? false : raw
    default: return raw
  }
}

export interface ParsedWhere {
  filter: RowFilter
  /** field → operator, for the audit event (never the values: they may be personal data) */
  summary: Record<string, string>
}

/**
 * Parses `where[field]=v`, `where[field][op]=v` (op: eq, ne, gt, gte, lt, lte, in; `in` takes
 * comma-separated values or the parameter repeated) from the query string. Fields must be granted
 * (403 naming them otherwise); masked fields take only equality and `in`, compared with the real
 * values; values are checked against the field's type (400 naming `where.field`).
 */
export function parseWhere (view: GrantView, query: Record<string, unknown>): ParsedWhere {
  const raw: Record<string, unknown> = {}
  const summary: Record<string, string> = {}
  const outside: string[] = []
  let count = 0
  for (const [key, value] of Object.entries(query)) {
    if (!key.startsWith('where')) continue
    const m = WHERE_KEY.exec(key)
    if (!m) throw new FieldError(key, 'filters are written where[field]=value or where[field][op]=value')
    const [, name, op = 'eq'] = m as unknown as [string, string, string | undefined]
    if (++count > MAX_FILTERS) throw new FieldError('where', `at most ${MAX_FILTERS} filters`)
    const plan = view.fields.get(name)
    if (!plan) { outside.push(name); continue }
    if (!(WHERE_OPERATORS as readonly string[]).includes(op)) {
      throw new FieldError(`where.${name}.${op}`, `unknown operator; use one of ${WHERE_OPERATORS.join(', ')}`)
    }
    if (!plan.operators.includes(op)) {
      throw new FieldError(`where.${name}.${op}`, `field ${name} is ${plan.masked ? 'masked under your grant' : 'stored encrypted'}: only ${MASKED_FIELD_OPERATORS.join(' and ')} filters apply to it`)
    }
    if (Object.hasOwn(raw, name)) throw new FieldError(`where.${name}`, 'one condition per field')
    const values = (Array.isArray(value) ? value : [value]).map(String)
    if (op === 'in') {
      raw[name] = { in: values.flatMap((v) => v.split(',')).map((v) => typed(plan.field, v)) }
    } else {
      if (values.length !== 1) throw new FieldError(`where.${name}`, 'one value; use where[field][in]=a,b for several')
      raw[name] = op === 'eq' ? typed(plan.field, values[0]!) : { [op]: typed(plan.field, values[0]!) }
    }
    summary[name] = op
  }
  if (outside.length > 0) throw new FieldsNotGrantedError(`filters on fields not within your grant: ${outside.join(', ')}`)
  const fields = [...view.fields.values()].map((p) => p.field)
  return { filter: checkRowFilter(raw, fields, 'where'), summary }
}

/**
 * The predicate of a read: the grant's row filter, the caller's filters and, for a grant resting on
 * consent, the persons' consents (without them only to count what they left out).
 */
export function predicateOf (view: GrantView, where: RowFilter, { consent = true } = {}): RawBuilder<boolean> {
  const parts = [view.rowFilter]
  if (Object.keys(where).length > 0) parts.push(rowFilterSql(where, [...view.fields.values()].map((p) => p.field), view.codec))
  if (consent && view.consent) parts.push(view.consent)
  return parts.length === 1 ? parts[0]! : sql<boolean>`${sql.join(parts, sql` and `)}`
}

/**
 * Keyset cursors of the data path. The last record key of a page may itself be personal data (a
 * student number), so the cursor is sealed: AES-256-GCM under a key of the grant. Another grant's
 * cursor, or a changed one, is a 400.
 */
export function sealCursor (key: MaskingKey, grantId: string, recordKey: string): string {
  return sealKeyCursor(key.derive('data-cursor', grantId), recordKey)
}

export function openCursor (key: MaskingKey, grantId: string, cursor: string): string {
  const recordKey = openKeyCursor(key.derive('data-cursor', grantId), cursor)
  if (recordKey === null) throw new FieldError('cursor', 'is not a cursor this grant issued')
  return recordKey
}
