// fast-check arbitraries from the JSON Schema subset the OpenAPI document uses, mixed with real
// values of the fixture (so that requests hit existing objects) and with hostile values.
import fc from 'fast-check'
import type { Schema } from './document.js'

/** Real values by property or parameter name: the fixture's codes, ids, fields and subjects. */
export type Known = Record<string, readonly unknown[]>

export interface Context {
  components: Record<string, Schema>
  known: Known
}

const DEEP = 2_000

/** Deeply nested JSON: {"a":{"a":…}} and [[[…]]]. */
export const deepObject = (depth = DEEP): unknown => {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = { a: v }
  return v
}
export const deepArray = (depth = DEEP): unknown => {
  let v: unknown = []
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

/** Objects whose own keys are `__proto__`, `constructor`, `prototype` (as JSON.parse makes them). */
export const pollution = (): Record<string, unknown> =>
  JSON.parse('{"__proto__":{"polluted":"yes","isAdmin":true},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}}')

export const HOSTILE_STRINGS: readonly string[] = [
  '\' OR \'1\'=\'1',
  '\'; drop table units; --',
  '"; drop table audit_events; --',
  '1); select pg_sleep(5); --',
  '%\' or 1=1 --',
  '\\',
  '\\x00',
  '../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  'a\u0000b',
  '\u0000',
  '\u202eevil\u202c.csv',
  '\ud800',
  'x\udfffy',
  '😀𝕏\u{10ffff}',
  'Ω≈ç√∫˜µ≤≥÷',
  '学生信息; DROP',
  '\r\nX-Injected: 1',
  '<script>alert(1)</script>',
  '$' + '{jndi:ldap://x/a}',
  '{{7*7}}',
  '=cmd|\'/C calc\'!A0',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  'Infinity',
  '-0',
  '1e308',
  '-1e308',
  '9007199254740993',
  '0x7fffffff',
  'null',
  'true',
  '[]',
  '{}',
  ' ',
  '',
  'A'.repeat(300),
  'é'.repeat(2_000),
  'x'.repeat(70_000)
]

/** JSON nested deeper than any recursive walker's stack (about 600 kB, under the body limit). */
export const VERY_DEEP_JSON = '['.repeat(300_000) + ']'.repeat(300_000)

export const HOSTILE_VALUES: readonly unknown[] = [
  null, true, false, 0, -0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, -(2 ** 31) - 1, 2 ** 31,
  [], {}, [null], [[]], { '': '' }, ['x'.repeat(10_000)]
]

/** A hostile value of any kind; deep nesting and pollution keys included. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 6 },
  { arbitrary: fc.constantFrom(...HOSTILE_VALUES), weight: 4 },
  { arbitrary: fc.constant(null).map(() => deepObject()), weight: 1 },
  { arbitrary: fc.constant(null).map(() => deepArray()), weight: 1 },
  { arbitrary: fc.constant(null).map(() => pollution()), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 }
)

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 1 }
)

function resolve (schema: Schema, ctx: Context): Schema {
  let s = schema
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    const name = (s.$ref as string).split('/').pop()!
    s = ctx.components[name] ?? {}
  }
  return s
}

const MAX_ITEMS = 4
const MAX_STRING = 40

function stringArb (s: Schema): fc.Arbitrary<string> {
  const min = typeof s.minLength === 'number' ? s.minLength : 0
  const max = Math.max(min, Math.min(typeof s.maxLength === 'number' ? s.maxLength : MAX_STRING, MAX_STRING))
  switch (s.format) {
    case 'date-time':
      return fc.date({ min: new Date('1990-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }).map((d) => d.toISOString())
    case 'date':
      return fc.date({ min: new Date('1990-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))
    case 'uuid':
      return fc.uuid()
    default:
  }
  if (typeof s.pattern === 'string') {
    let re: RegExp | undefined
    try { re = new RegExp(s.pattern) } catch { re = undefined }
    if (re) {
      try {
        // no filter (it could spin for ever): too short is padded by repetition, too long cut
        const cap = typeof s.maxLength === 'number' ? s.maxLength : Infinity
        return fc.stringMatching(re).map((v) => (v.length >= min ? v : (v || '0').repeat(Math.ceil(min / Math.max(1, v.length)))).slice(0, Math.max(min, Math.min(cap, 10_000))))
      } catch {
        // a pattern fast-check cannot generate from: plain strings
      }
    }
  }
  return fc.oneof(
    { arbitrary: fc.string({ minLength: min, maxLength: max }), weight: 6 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: max }), weight: 2 },
    // hostile text where free text goes: SQL, NUL, RTL, surrogates, traversal
    { arbitrary: hostileString.filter((v) => v.length >= min && v.length <= Math.max(max, 300)), weight: 1 }
  )
}

function numberArb (s: Schema, integer: boolean): fc.Arbitrary<number> {
  let min = typeof s.minimum === 'number' ? s.minimum : undefined
  let max = typeof s.maximum === 'number' ? s.maximum : undefined
  if (typeof s.exclusiveMinimum === 'number') min = integer ? Math.floor(s.exclusiveMinimum) + 1 : s.exclusiveMinimum
  if (typeof s.exclusiveMaximum === 'number') max = integer ? Math.ceil(s.exclusiveMaximum) - 1 : s.exclusiveMaximum
  if (integer) {
    const lo = Math.max(min ?? -1_000_000, -(2 ** 31))
    const hi = Math.min(max ?? 1_000_000, 2 ** 31 - 1)
    return fc.oneof(fc.integer({ min: lo, max: hi }), fc.constantFrom(lo, hi))
  }
  return fc.double({ min: min ?? -1e9, max: max ?? 1e9, noNaN: true, noDefaultInfinity: true, minExcluded: typeof s.exclusiveMinimum === 'number' })
}

function objectArb (s: Schema, ctx: Context, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = (s.properties ?? {}) as Record<string, Schema>
  const required = new Set((s.required ?? []) as string[])
  const model: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [name, p] of Object.entries(props)) model[name] = valueArb(p, ctx, depth + 1, name)
  const base = fc.record(model, { requiredKeys: [...required].filter((k) => k in model) })
  const extra = s.additionalProperties
  if (extra === undefined || extra === false) return base
  const extraArb = extra === true || Object.keys(extra as object).length === 0
    ? fc.jsonValue({ maxDepth: 2 })
    : valueArb(extra as Schema, ctx, depth + 1)
  const keys = ctx.known.field ? fc.oneof(fc.constantFrom(...(ctx.known.field as string[])), fc.string({ minLength: 1, maxLength: 12 })) : fc.string({ minLength: 1, maxLength: 12 })
  return fc.tuple(base, fc.dictionary(keys, extraArb, { maxKeys: 3 })).map(([a, b]) => ({ ...b, ...a }))
}

/** Values valid against the schema (mostly: patterns are cut to length), real ones mixed in by name. */
export function valueArb (schema: Schema, ctx: Context, depth = 0, name?: string): fc.Arbitrary<unknown> {
  const s = resolve(schema, ctx)
  const generated = structuralArb(s, ctx, depth, name)
  const known = name ? ctx.known[name] : undefined
  if (known && known.length > 0 && !('const' in s) && !Array.isArray(s.enum)) {
    const real = s.type === 'array' ? fc.subarray([...known], { minLength: 1 }) : fc.constantFrom(...known)
    return fc.oneof({ arbitrary: real, weight: 2 }, { arbitrary: generated, weight: 1 })
  }
  return generated
}

function structuralArb (s: Schema, ctx: Context, depth: number, name?: string): fc.Arbitrary<unknown> {
  if (depth > 8) return fc.constant(null)
  if ('const' in s) return fc.constant(s.const)
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]))
  const union = (s.anyOf ?? s.oneOf) as Schema[] | undefined
  if (union) return fc.oneof(...union.map((u) => valueArb(u, ctx, depth + 1, name)))
  let type = s.type as string | string[] | undefined
  if (Array.isArray(type)) return fc.oneof(...type.map((t) => structuralArb({ ...s, type: t }, ctx, depth, name)))
  if (s.nullable === true) return fc.option(structuralArb({ ...s, nullable: false }, ctx, depth, name), { nil: null })
  type ??= s.properties ? 'object' : s.items ? 'array' : undefined
  switch (type) {
    case 'string': return stringArb(s)
    case 'integer': return numberArb(s, true)
    case 'number': return numberArb(s, false)
    case 'boolean': return fc.boolean()
    case 'null': return fc.constant(null)
    case 'array': {
      const items = valueArb((s.items ?? {}) as Schema, ctx, depth + 1, name === 'fields' || name === 'primaryKey' || name === 'quasiIdentifiers' ? 'field' : undefined)
      const minLength = typeof s.minItems === 'number' ? s.minItems : 0
      const maxLength = Math.max(minLength, Math.min(typeof s.maxItems === 'number' ? s.maxItems : MAX_ITEMS, MAX_ITEMS))
      return s.uniqueItems === true
        ? fc.uniqueArray(items, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
        : fc.array(items, { minLength, maxLength })
    }
    case 'object': return objectArb(s, ctx, depth)
    default: return fc.jsonValue({ maxDepth: 2 })
  }
}

/**
 * A request body: valid by the schema or a document example, then sometimes broken: a required
 * field dropped, an unknown or pollution key added, one field made hostile, or the whole body hostile.
 */
export function bodyArb (schema: Schema, examples: readonly unknown[], ctx: Context): fc.Arbitrary<unknown> {
  const s = resolve(schema, ctx)
  const valid = examples.length > 0
    ? fc.oneof({ arbitrary: valueArb(s, ctx), weight: 3 }, { arbitrary: fc.constantFrom(...examples).map((e) => structuredClone(e)), weight: 1 })
    : valueArb(s, ctx)
  return fc.oneof(
    { arbitrary: valid, weight: 5 },
    { arbitrary: fc.tuple(valid, fc.nat(), fc.constantFrom<Mutation>('drop', 'extra', 'pollute', 'hostile', 'hostile')).chain(([v, i, m]) => mutate(v, i, m, s)), weight: 5 },
    { arbitrary: hostileValue, weight: 1 }
  )
}

type Mutation = 'drop' | 'extra' | 'pollute' | 'hostile'

function mutate (value: unknown, index: number, mutation: Mutation, schema: Schema): fc.Arbitrary<unknown> {
  if (Array.isArray(value)) {
    // a batch: break one of its items, or the list itself
    if (value.length === 0 || mutation === 'extra') return fc.constant([...value, ...(mutation === 'extra' ? [pollution()] : [])])
    const at = index % value.length
    return mutate(value[at], index, mutation, {}).map((item) => value.map((v, i) => (i === at ? item : v)))
  }
  if (value === null || typeof value !== 'object') return hostileValue
  const obj = { ...(value as Record<string, unknown>) }
  const keys = Object.keys(obj)
  switch (mutation) {
    case 'drop': {
      const required = (schema.required ?? []) as string[]
      const pool = required.length > 0 ? required : keys
      if (pool.length > 0) delete obj[pool[index % pool.length]!]
      return fc.constant(obj)
    }
    case 'extra':
      return fc.constantFrom('extra', 'isAdmin', 'status', 'id', 'unit', 'roles').map((k) => ({ ...obj, [k]: k === 'roles' ? ['system_admin'] : true }))
    case 'pollute':
      return fc.constant(Object.assign(pollution(), obj))
    case 'hostile': {
      const props = Object.keys((schema.properties ?? {}) as object)
      const pool = [...new Set([...keys, ...props])]
      if (pool.length === 0) return hostileValue
      const key = pool[index % pool.length]!
      return hostileValue.map((h) => ({ ...obj, [key]: h }))
    }
  }
}
