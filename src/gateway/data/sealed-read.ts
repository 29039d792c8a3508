import { sql, type RawBuilder } from 'kysely'
import { compileRule, type RowMasker } from '../../masking/index.js'
import { keptOf, maskOne, type KeptField, type KeptForms, type KeptProfile } from '../../masking/index.js'
import type { MaskingKey } from '../../masking/index.js'
import { REDACT, type MaskFn } from '../../masking/index.js'
import type { RecordCodec } from '../../catalog/index.js'
import { compileMasker, type GrantView } from './plan.js'

/**
 * How a read gets the sealed fields it gives out, for one grant and choice of fields. A masked read
 * takes a field's kept form (records.masked) when the grant's rule for it is the rule the form was
 * made with, and opens only what is left: fields given unmasked, and keyed forms (per-grant hashes,
 * tokens). Redacted fields are never opened. A record whose forms were made with other rules (the
 * policy changed and the sweep has not reached it) is opened and masked here, as the engine would.
 */
export interface SealedRead {
  codec: RecordCodec
  /** sealed fields whose value the read needs, on every row */
  open: string[]
  /** sealed fields taken from their kept forms */
  kept: KeptField[]
  digest: string
  profile: KeptProfile | null
  /** what a row without usable forms opens: `open` and the kept fields */
  fallback: string[]
  /** every sealed field chosen: what a read of unmasked rows opens (exports: decoys are made from them) */
  all: string[]
  /** the row function of rows filled by `fill` with kept forms: those fields pass as they are */
  keptMasker: RowMasker
}

export interface SealedRow { record_key: string, data: Record<string, unknown>, sealed?: Buffer | null, masked?: Record<string, unknown> | null }

const sameRule = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

export function sealedReadOf (view: GrantView, fields: readonly string[], forms: KeptForms | null, key: MaskingKey, today: Date, masker: RowMasker): SealedRead | null {
  const codec = view.codec
  if (!codec) return null
  const profile = view.profile === 'display' || view.profile === 'third_party' ? view.profile : null
  const keptByName = new Map((forms && profile ? forms.profiles[profile] : []).map((k) => [k.name, k]))
  const open: string[] = []
  const kept: KeptField[] = []
  for (const name of fields) {
    if (!codec.fields.has(name)) continue
    const rule = view.fields.get(name)!.rule.rule
    const form = keptByName.get(name)
    if (form && sameRule(form.rule, rule)) kept.push(form)
    else if (rule.strategy !== 'redact') open.push(name)
  }
  return {
    codec,
    open,
    kept,
    digest: forms?.digest ?? '',
    profile,
    fallback: [...open, ...kept.map((k) => k.name)],
    all: fields.filter((name) => codec.fields.has(name)),
    keptMasker: kept.length === 0 ? masker : compileMasker(view, fields, key, today, new Set(kept.map((k) => k.name)))
  }
}

/** The columns a read selects beside `data`: the sealed blob (unless kept forms stand in for it) and the kept forms. */
export function sealedColumns (s: SealedRead | null, useKept: boolean): RawBuilder<unknown> {
  if (!s) return sql``
  if (!useKept || s.kept.length === 0) return sql`, sealed`
  // a record whose forms serve this read is not opened at all: its blob need not travel
  const sealed = s.open.length > 0
    ? sql`sealed`
    : sql`case when masked ->> '#' = ${s.digest} and masked ? ${s.profile} then null else sealed end as sealed`
  return sql`, ${sealed}, masked`
}

/**
 * Fills the sealed fields of fetched rows, in place: with `useKept`, kept forms (then masked by
 * `keptMasker`); else the opened values (then masked by the plan's masker).
 */
export function fillSealed (s: SealedRead, rows: SealedRow[], useKept: boolean): void {
  const { codec, kept } = s
  if (!useKept || kept.length === 0) {
    for (const row of rows) codec.decode(row.record_key, row.data, row.sealed ?? null, s.all)
    return
  }
  for (const row of rows) {
    const data = row.data
    const forms = keptOf(row.masked, s.digest, s.profile!)
    if (forms) {
      for (const k of kept) {
        if (Object.hasOwn(forms, k.name)) data[k.name] = forms[k.name]
        else delete data[k.name]
      }
      if (s.open.length > 0) codec.decode(row.record_key, data, row.sealed ?? null, s.open)
    } else {
      codec.decode(row.record_key, data, row.sealed ?? null, s.fallback)
      for (const k of kept) {
        if (!Object.hasOwn(data, k.name)) continue
        const form = maskOne(k.fn, data[k.name])
        if (form === REDACT) delete data[k.name]
        else data[k.name] = form
      }
    }
    row.masked = null
  }
}

/**
 * How the database writes a page's rows as JSON, when no field a read gives out needs a sealed
 * value opened: fields in the clear given as they are and sealed fields served by their kept forms
 * come as JSON text from the query, in the dataset's order, as the row function would give them
 * (absent fields absent, redacted ones left out), and the gateway neither parses nor serialises
 * them; fields in the clear under a mask (a key field with a PI type, say) come as their values'
 * JSON between those runs, and the gateway masks them and splices them in. A row whose kept forms
 * do not serve (other rules, or a record not sealed yet) comes back as before and is masked here.
 * Null when a field needs a sealed value opened (a keyed form of it, an unmasked read).
 */
export interface JsonRead {
  /** runs of fields the database writes (`"field":` and where from), around the masked fields: one more run than those */
  runs: { key: string, field: string, kept: boolean }[][]
  /** fields in the clear the gateway masks, each between two runs */
  masked: { key: string, field: string, fn: MaskFn }[]
  /** the rules and profile of the kept forms the runs use; null when none does */
  kept: { digest: string, profile: KeptProfile } | null
}

export function jsonReadOf (view: GrantView, fields: readonly string[], sealed: SealedRead | null, key: MaskingKey, today: Date): JsonRead | null {
  const keptNames = new Set(sealed?.kept.map((k) => k.name))
  const runs: JsonRead['runs'] = [[]]
  const masked: JsonRead['masked'] = []
  for (const name of fields) {
    if (name === '__proto__') return null
    const rule = view.fields.get(name)!.rule.rule
    const jsonKey = `${JSON.stringify(name)}:`
    if (rule.strategy === 'redact') continue
    if (view.codec?.fields.has(name)) {
      if (!keptNames.has(name)) return null
      runs.at(-1)!.push({ key: jsonKey, field: name, kept: true })
    } else if (rule.strategy === 'keep') {
      runs.at(-1)!.push({ key: jsonKey, field: name, kept: false })
    } else {
      masked.push({ key: jsonKey, field: name, fn: compileRule(rule, `rules.${name}`, { key, scope: view.grant.id, today }) })
      runs.push([])
    }
  }
  const kept = runs.some((run) => run.some((p) => p.kept)) ? { digest: sealed!.digest, profile: sealed!.profile! } : null
  return { runs, masked, kept }
}

/**
 * The columns of a read written as JSON by the database: `o0`, `o1`, … the runs' JSON text (the
 * fields joined by commas, without braces), `v0`, … the JSON of the masked fields' values (null
 * when the record has none), and where kept forms are used, `fresh` (they serve the row) and for
 * the rows they do not serve, `data` and `sealed` to mask in the gateway.
 */
export function jsonColumns (j: JsonRead): RawBuilder<unknown> {
  const runs = j.runs.map((run, i) => {
    const values = run.map((p) => p.kept
      ? sql`${p.key}::text || (masked -> ${j.kept!.profile}::text -> ${p.field}::text)::text`
      : sql`${p.key}::text || (data -> ${p.field}::text)::text`)
    // concat_ws leaves out the nulls: the fields a record does not have
    return values.length === 0 ? sql`''::text as ${sql.ref(`o${i}`)}` : sql`concat_ws(',', ${sql.join(values)}) as ${sql.ref(`o${i}`)}`
  })
  const masked = j.masked.map((m, i) => sql`(data -> ${m.field}::text)::text as ${sql.ref(`v${i}`)}`)
  const columns = sql.join([...runs, ...masked])
  if (!j.kept) return sql`, ${columns}`
  const fresh = sql`coalesce(masked ->> '#' = ${j.kept.digest}::text and masked ? ${j.kept.profile}::text, false)`
  return sql`, ${columns}, ${fresh} as fresh, case when ${fresh} then null else data end as data, case when ${fresh} then null else sealed end as sealed`
}

/** A row fetched with `jsonColumns`. */
type JsonColumns = Record<string, unknown> & { fresh?: boolean }

/** The JSON text of a row fetched with `jsonColumns` whose kept forms serve (or that uses none). */
export function jsonTextOf (j: JsonRead, row: JsonColumns): string {
  if (j.masked.length === 0) return `{${row.o0 as string}}`
  let text = '{'
  let first = true
  const add = (piece: string) => {
    if (piece === '') return
    text += first ? piece : `,${piece}`
    first = false
  }
  for (let i = 0; i < j.runs.length; i++) {
    add(row[`o${i}`] as string)
    if (i === j.masked.length) break
    const value = row[`v${i}`] as string | null
    if (value === null) continue
    const form = maskOne(j.masked[i]!.fn, JSON.parse(value))
    const json = form === REDACT ? undefined : JSON.stringify(form)
    if (json !== undefined) add(`${j.masked[i]!.key}${json}`)
  }
  return `${text}}`
}
