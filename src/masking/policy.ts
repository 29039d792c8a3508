import type { StoredField } from '../db/database.js'
import { FieldError } from '../platform/errors.js'
import { compileRule, compileRules, type RowMasker, type Rule, type Rules } from './engine.js'
import { piDefault, plainDefault, PROFILES, STRICTEST, type Profile } from './profiles.js'
import type { CompileContext } from './strategies.js'

/** A dataset's policy: per profile, the rules the office set for some fields. */
export type PolicyProfiles = Partial<Record<Profile, Rules>>

export type RuleSource = 'policy' | 'catalog' | 'default' | 'fail_closed'
export interface EffectiveRule { rule: Rule, source: RuleSource }

const withPiType = (rule: Rule, field: StoredField): Rule =>
  field.piType && rule.piType === undefined && rule.strategy !== 'keep' ? { ...rule, piType: field.piType } : rule

/**
 * The rule a field gets in a profile: the policy's; else the catalog's default rule for the field
 * (except `keep` of personal information outside display); else the PI type's default; else, for
 * personal information, the strictest rule. A rule that no longer compiles (the field changed since)
 * fails closed too.
 */
export function effectiveRule (field: StoredField, profiles: PolicyProfiles, profile: Profile, ctx: CompileContext): EffectiveRule {
  const candidates: [Rule | null | undefined, RuleSource][] = [
    [profiles[profile]?.[field.name], 'policy'],
    [field.masking && !(field.piType && field.masking.strategy === 'keep' && profile !== 'display') ? field.masking as Rule : null, 'catalog'],
    [field.piType ? piDefault(field.piType, field.sensitivity, profile) : plainDefault(field, profile), 'default']
  ]
  for (const [rule, source] of candidates) {
    if (!rule) continue
    if (profile === 'third_party' && field.piType && rule.strategy === 'keep') continue // R7.6: never raw to a third party
    const full = withPiType(rule, field)
    try {
      compileRule(full, 'rule', ctx)
      return { rule: full, source }
    } catch {
      // a stored rule the engine no longer accepts: try the next, and fail closed at the end
    }
  }
  return { rule: field.piType ? STRICTEST : { strategy: 'keep' }, source: field.piType ? 'fail_closed' : 'default' }
}

export function effectiveRules (fields: StoredField[], profiles: PolicyProfiles, profile: Profile, ctx: CompileContext): Record<string, EffectiveRule> {
  return Object.fromEntries(fields.map((f) => [f.name, effectiveRule(f, profiles, profile, ctx)]))
}

/** The row function of a dataset's policy in one profile: fields the catalog does not know are dropped. */
export function compilePolicy (fields: StoredField[], profiles: PolicyProfiles, profile: Profile, ctx: CompileContext): RowMasker {
  const rules: Rules = {}
  for (const [name, { rule }] of Object.entries(effectiveRules(fields, profiles, profile, ctx))) rules[name] = rule
  return compileRules(rules, ctx, { others: 'redact' })
}

/**
 * Checks a policy the office submits: known profiles, existing fields, rules that compile, and no
 * personal information kept raw for third parties. Errors name `profiles.<profile>.<field>…`.
 */
export function checkPolicy (fields: StoredField[], profiles: PolicyProfiles, ctx: CompileContext): void {
  const byName = new Map(fields.map((f) => [f.name, f]))
  for (const [profile, rules] of Object.entries(profiles)) {
    if (!(PROFILES as readonly string[]).includes(profile)) throw new FieldError(`profiles.${profile}`, `must be one of ${PROFILES.join(', ')}`)
    for (const [name, rule] of Object.entries(rules ?? {})) {
      const path = `profiles.${profile}.${name}`
      const field = byName.get(name)
      if (!field) throw new FieldError(path, 'the dataset has no such field')
      compileRule(withPiType(rule, field), path, ctx)
      if (profile === 'third_party' && field.piType && rule.strategy === 'keep') {
        throw new FieldError(`${path}.strategy`, 'personal information is never given raw to a third party (R7.6): choose a masking strategy')
      }
    }
  }
}
