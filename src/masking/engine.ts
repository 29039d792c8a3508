import { Compile, type Validator } from 'typebox/compile'
import type { TSchema } from 'typebox'
import { FieldError } from '../platform/errors.js'
import { isMaskingPiType, MASKING_PI_TYPES } from './pi-formats.js'
import { REDACT, STRATEGIES, STRATEGY_NAMES, type CompileContext, type MaskFn } from './strategies.js'

/** A masking rule: a strategy, optionally the PI type of the value, and the strategy's parameters. */
export interface Rule {
  strategy: string
  piType?: string
  [param: string]: unknown
}
export type Rules = Record<string, Rule>
export type Row = Record<string, unknown>

const validators = new Map<TSchema, Validator>()
function validatorOf (schema: TSchema): Validator {
  let v = validators.get(schema)
  if (!v) { v = Compile(schema); validators.set(schema, v) }
  return v
}

/**
 * Checks a rule and turns it into a function of one value. Anything wrong is a 400 naming the rule's
 * member at fault, under `path` (`rules.phone.strategy`, `profiles.display.phone.keepFirst`).
 */
export function compileRule (rule: unknown, path: string, ctx: CompileContext): MaskFn {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new FieldError(path, 'must be an object with a strategy')
  const { strategy, piType, ...params } = rule as Record<string, unknown>
  if (typeof strategy !== 'string' || !Object.hasOwn(STRATEGIES, strategy)) {
    throw new FieldError(`${path}.strategy`, `must be one of ${STRATEGY_NAMES.join(', ')}`)
  }
  if (piType !== undefined && !isMaskingPiType(piType)) {
    throw new FieldError(`${path}.piType`, `must be one of ${MASKING_PI_TYPES.join(', ')}`)
  }
  const definition = STRATEGIES[strategy]!
  for (const [name, value] of Object.entries(params)) {
    const schema = Object.hasOwn(definition.params, name) ? definition.params[name] : undefined
    if (!schema) {
      const known = Object.keys(definition.params)
      throw new FieldError(`${path}.${name}`, `is not a parameter of strategy ${strategy}` +
        (known.length ? ` (parameters: ${known.join(', ')})` : ' (it takes none)'))
    }
    const validator = validatorOf(schema)
    if (!validator.Check(value)) {
      const [first] = validator.Errors(value)
      throw new FieldError(`${path}.${name}`, first?.message ?? 'is invalid')
    }
  }
  return definition.compile(params, piType as string | undefined, ctx)
}

export type RowMasker = (row: Row) => Row

/**
 * Compiles a rule set once into a function of one row, for the data path's hot loop. Fields without
 * a rule are handled by `others`: kept (rules the caller wrote) or dropped (a dataset's policy,
 * where a field the catalog does not know is never let through).
 *
 * The row function is generated for the rule set, with each field name a string literal (written by
 * JSON.stringify, so any name is safe) and each rule's function its own variable: property accesses
 * and calls then stay monomorphic in the per-row loop, where a loop over a field list made every
 * access a keyed lookup of a changing name. A rule that throws on a value (a cycle, an exotic type)
 * fails closed: the field is dropped, never let through raw.
 */
export function compileRules (rules: Rules, ctx: CompileContext, { others = 'keep', path = 'rules' }: { others?: 'keep' | 'redact', path?: string } = {}): RowMasker {
  const fields: { name: string, fn: MaskFn, strategy: string }[] = []
  for (const [field, rule] of Object.entries(rules)) {
    const fn = compileRule(rule, `${path}.${field}`, ctx)
    if (field === '__proto__' || (rule.strategy === 'keep' && others === 'keep')) continue
    fields.push({ name: field, fn, strategy: rule.strategy })
  }
  const fns = fields.map((f) => f.fn)
  const lines: string[] = []
  const key = (i: number) => JSON.stringify(fields[i]!.name)
  /** `v` = the masked value of field i, REDACT when its rule throws */
  const masked = (i: number) => fns[i]!.onString
    ? `try { const x = row[${key(i)}]; v = typeof x === 'string' ? s${i}(x) : f${i}(x) } catch { v = REDACT }`
    : `try { v = f${i}(row[${key(i)}]) } catch { v = REDACT }`
  if (others === 'redact') {
    // a policy: only the fields it names, in its order
    lines.push('const out = {}')
    fields.forEach((f, i) => {
      if (f.strategy === 'redact') return
      if (f.strategy === 'keep') lines.push(`if (hasOwn(row, ${key(i)})) out[${key(i)}] = row[${key(i)}]`)
      else lines.push(`if (hasOwn(row, ${key(i)})) { ${masked(i)}; if (v !== REDACT) out[${key(i)}] = v }`)
    })
  } else if (!fields.some((f) => f.strategy === 'redact')) {
    // the common case: copy the row (spread defines an own "__proto__" as data, never as prototype), then mask in place
    lines.push('const out = { ...row }')
    fields.forEach((_f, i) => {
      lines.push(`if (hasOwn(row, ${key(i)})) { ${masked(i)}; if (v === REDACT) delete out[${key(i)}]; else out[${key(i)}] = v }`)
    })
  } else {
    // fields redacted by rule are left out of the copy; the others are masked in place. A copy never
    // holds an own "__proto__": it is left out with them.
    const left = fields.map((f, i) => f.strategy === 'redact' ? `${key(i)}: r${i}, ` : '').join('')
    lines.push(`const { ${left}"__proto__": rp, ...out } = row`)
    fields.forEach((f, i) => {
      if (f.strategy === 'redact') return
      lines.push(`if (hasOwn(row, ${key(i)})) { ${masked(i)}; if (v === REDACT) delete out[${key(i)}]; else out[${key(i)}] = v }`)
    })
  }
  const body = `"use strict"\nreturn function maskRow (row) {\nlet v\n${lines.join('\n')}\nreturn out\n}`
  const names = fns.flatMap((_f, i) => [`f${i}`, `s${i}`])
  // eslint-disable-next-line no-new-func -- the body holds no input but JSON-quoted field names; see above
  const factory = new Function('hasOwn', 'REDACT', ...names, body) as (...args: unknown[]) => RowMasker
  return factory(Object.hasOwn, REDACT, ...fns.flatMap((f) => [f, f.onString]))
}
