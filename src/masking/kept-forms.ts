import { createHash } from 'node:crypto'
import type { StoredField } from '../db/database.js'
import { compileRule, type Rule } from './engine.js'
import type { MaskingKey } from './keys.js'
import { effectiveRule, type PolicyProfiles } from './policy.js'
import { REDACT, STRATEGIES, type CompileContext, type MaskFn } from './strategies.js'

/** The profiles the data path serves masked (profileOf, src/gateway/data/plan.ts). */
export const KEPT_PROFILES = ['display', 'third_party'] as const
export type KeptProfile = typeof KEPT_PROFILES[number]

/** A sealed field whose masked form in a profile is worked out once, at ingest. */
export interface KeptField { name: string, rule: Rule, fn: MaskFn }

/**
 * The masked forms kept beside a record's sealed values (`records.masked`), so that a masked read
 * need not open them: for each profile, the sealed fields whose rule's output depends on the value
 * and the rule alone (a mask, a generalisation to a place or a year, a constant). Keyed forms
 * (per-grant hashes, tokens, surrogates, noise) and kept values are never kept: they are made from
 * the opened value at read time. `digest` names the rules: a record's forms are used only while
 * its `#` equals the digest of the rules the reader holds, so a changed policy or field falls
 * back to opening the value until the sweep has made the forms again.
 */
export interface KeptForms {
  digest: string
  profiles: Record<KeptProfile, KeptField[]>
  /** the forms of one record's values (before they are sealed), or null when none is kept */
  of (data: Record<string, unknown>): Record<string, unknown> | null
}

/** Effective rules compile against this key only to be checked: no keyed rule is ever kept. */
const CHECK_KEY: MaskingKey = { derive: () => Buffer.alloc(32) }

/** The output of a compiled rule for one value, exactly as the row function of engine.ts makes it. */
export function maskOne (fn: MaskFn, value: unknown): unknown {
  try {
    return fn.onString !== undefined && typeof value === 'string' ? fn.onString(value) : fn(value)
  } catch {
    return REDACT
  }
}

function valueOnly (rule: Rule): boolean {
  const definition = Object.hasOwn(STRATEGIES, rule.strategy) ? STRATEGIES[rule.strategy]! : null
  const { strategy: _s, piType: _p, ...params } = rule
  const flag = definition?.valueOnly
  return typeof flag === 'function' ? flag(params) : flag === true
}

/** The kept forms of a dataset's `sealed` fields under its policy, or null when no rule allows one. */
export function keptFormsOf (fields: readonly StoredField[], profiles: PolicyProfiles, sealed: ReadonlySet<string>): KeptForms | null {
  const ctx: CompileContext = { key: CHECK_KEY, scope: 'kept-forms', today: new Date() }
  const byProfile = {} as Record<KeptProfile, KeptField[]>
  for (const profile of KEPT_PROFILES) {
    byProfile[profile] = fields.filter((f) => sealed.has(f.name)).flatMap((f) => {
      const { rule } = effectiveRule(f, profiles, profile, ctx)
      return valueOnly(rule) ? [{ name: f.name, rule, fn: compileRule(rule, `rules.${f.name}`, ctx) }] : []
    })
  }
  if (KEPT_PROFILES.every((p) => byProfile[p].length === 0)) return null
  const digest = createHash('sha256')
    .update(JSON.stringify(KEPT_PROFILES.map((p) => [p, byProfile[p].map((k) => [k.name, k.rule])])))
    .digest('base64url').slice(0, 16)
  return {
    digest,
    profiles: byProfile,
    of (data) {
      const out: Record<string, unknown> = { '#': digest }
      for (const profile of KEPT_PROFILES) {
        const forms: Record<string, unknown> = {}
        let kept = true
        for (const k of byProfile[profile]) {
          if (!Object.hasOwn(data, k.name)) continue
          const value = data[k.name]
          const form = maskOne(k.fn, value)
          if (form === REDACT) continue
          // a form that is the value itself (a value too short to mask) would be a clear value: this
          // record's values are opened instead, in this profile
          if (form === value && value !== null && value !== '') { kept = false; break }
          forms[k.name] = form
        }
        if (kept && byProfile[profile].length > 0) out[profile] = forms
      }
      return out
    }
  }
}

/** A record's forms in a profile, when they were made with the rules of `digest`; else null. */
export function keptOf (masked: Record<string, unknown> | null | undefined, digest: string, profile: KeptProfile): Record<string, unknown> | null {
  if (!masked || masked['#'] !== digest) return null
  const forms = masked[profile]
  return typeof forms === 'object' && forms !== null ? forms as Record<string, unknown> : null
}
