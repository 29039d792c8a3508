import { sql, type RawBuilder } from 'kysely'
import type { StoredField } from '../db/database.js'
import { FieldError } from './errors.js'

/**
 * Row filters of share requests and grants: structured JSON, never SQL. Each key is a field of the
 * dataset; its value is either a scalar (equality) or one operator object:
 *
 *   {"college": "CS", "year": {"in": [2023, 2024]}, "gpa": {"gte": 3}}
 *
 * Conditions are ANDed. The filter is validated against the dataset's fields and their types, and
 * compiled to a parameterised predicate over `records.data`.
 */
export type Scalar = string | number | boolean
export type Condition = Scalar | { in: Scalar[] } | { ne: Scalar } | { gt: Scalar } | { gte: Scalar } | { lt: Scalar } | { lte: Scalar }
export type RowFilter = Record<string, Condition>

export const FILTER_OPERATORS = ['in', 'ne', 'gt', 'gte', 'lt', 'lte'] as const
type Operator = typeof FILTER_OPERATORS[number]
const ORDERED: readonly Operator[] = ['gt', 'gte', 'lt', 'lte']
export const MAX_CONDITIONS = 20
export const MAX_IN_VALUES = 200

function checkValue (field: StoredField, value: unknown, path: string): Scalar {
  const ok = (() => {
    switch (field.type) {
      case 'integer': return typeof value === 'number' && Number.isInteger(value)
      case 'number': return typeof value === 'number' && Number.isFinite(value)
      case 'boolean': return typeof value === 'boolean'
      case 'date': return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)
      case 'datetime': return typeof value === 'string' && !Number.isNaN(Date.parse(value))
      default: return typeof value === 'string' && value.length <= 1000
    }
  })()
  if (!ok) throw new FieldError(path, `must be a ${field.type} value, as field ${field.name} is`)
  return value as Scalar
}

/** Validates a filter against the dataset's fields; throws a FieldError naming `rowFilter.<field>…`. */
export function checkRowFilter (filter: Record<string, unknown>, fields: readonly StoredField[], base = 'rowFilter'): RowFilter {
  const entries = Object.entries(filter)
  if (entries.length > MAX_CONDITIONS) throw new FieldError(base, `at most ${MAX_CONDITIONS} conditions`)
  const out: RowFilter = {}
  for (const [name, condition] of entries) {
    const path = `${base}.${name}`
    const field = fields.find((f) => f.name === name)
    if (!field) throw new FieldError(path, 'the dataset has no such field')
    if (condition === null || typeof condition !== 'object') {
      out[name] = checkValue(field, condition, path)
      continue
    }
    if (Array.isArray(condition)) throw new FieldError(path, 'a list of values is written {"in": [...]}')
    const ops = Object.entries(condition as Record<string, unknown>)
    if (ops.length !== 1) throw new FieldError(path, `exactly one operator of ${FILTER_OPERATORS.join(', ')}`)
    const [op, operand] = ops[0]!
    if (!(FILTER_OPERATORS as readonly string[]).includes(op)) {
      throw new FieldError(`${path}.${op}`, `operator not allowed; use one of ${FILTER_OPERATORS.join(', ')} or a plain value for equality`)
    }
    if (op === 'in') {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length > MAX_IN_VALUES) {
        throw new FieldError(`${path}.in`, `a list of 1 to ${MAX_IN_VALUES} values`)
      }
      out[name] = { in: operand.map((v, i) => checkValue(field, v, `${path}.in.${i}`)) }
      continue
    }
    if (ORDERED.includes(op as Operator) && field.type === 'boolean') throw new FieldError(`${path}.${op}`, 'booleans have no order')
    out[name] = { [op]: checkValue(field, operand, `${path}.${op}`) } as Condition
  }
  return out
}

/** The JSON path expression of a field in `records.data`, typed for comparison. */
function column (field: StoredField): RawBuilder<unknown> {
  const text = sql`(data ->> ${field.name})`
  switch (field.type) {
    case 'integer': case 'number': return sql`(${text})::numeric`
    case 'boolean': return sql`(${text})::boolean`
    default: return text
  }
}

const SQL_OPS: Record<Exclude<Operator, 'in'>, RawBuilder<unknown>> = {
  ne: sql.raw('<>'), gt: sql.raw('>'), gte: sql.raw('>='), lt: sql.raw('<'), lte: sql.raw('<=')
}

/** What the filter needs of encrypted fields: which they are, and the blind index of a value. */
export interface BlindLookup {
  fields: ReadonlySet<string>
  of (field: string, value: unknown): string
}

/**
 * The predicate of a (validated) filter over a `records` row, or `true` for no conditions. Values
 * travel as parameters; field names are parameters of the JSON operator, never identifiers. An
 * encrypted field is compared through its blind index (`records.blind`), by equality only: any
 * other condition on it matches nothing (deny).
 */
export function rowFilterSql (filter: RowFilter, fields: readonly StoredField[], blind?: BlindLookup | null): RawBuilder<boolean> {
  const parts = Object.entries(filter).map(([name, condition]) => {
    const field = fields.find((f) => f.name === name)
    if (!field) return sql`false` // a field removed since the grant: nothing matches (deny)
    if (blind?.fields.has(name)) {
      const match = (v: Scalar) => sql`blind @> ${JSON.stringify({ [name]: blind.of(name, v) })}::jsonb`
      if (typeof condition !== 'object') return match(condition)
      if ('in' in condition) return sql`(${sql.join(condition.in.map(match), sql` or `)})`
      return sql`false`
    }
    const col = column(field)
    if (typeof condition !== 'object') return sql`${col} = ${condition}`
    if ('in' in condition) return sql`${col} in (${sql.join(condition.in.map((v) => sql`${v}`))})`
    const [op, value] = Object.entries(condition)[0] as [Exclude<Operator, 'in'>, Scalar]
    return sql`${col} ${SQL_OPS[op]} ${value}`
  })
  return parts.length === 0 ? sql<boolean>`true` : sql<boolean>`(${sql.join(parts, sql` and `)})`
}

/** The fields a filter names. */
export const filterFields = (filter: RowFilter): string[] => Object.keys(filter)
