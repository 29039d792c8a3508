import { sql, type RawBuilder } from 'kysely'
import type { RowMasker } from '../../masking/engine.js'
import { keptOf, maskOne, type KeptField, type KeptForms, type KeptProfile } from '../../masking/kept-forms.js'
import type { MaskingKey } from '../../masking/keys.js'
import { REDACT } from '../../masking/strategies.js'
import type { RecordCodec } from '../../catalog/encryption/codec.js'
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
