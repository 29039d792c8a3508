import type { StoredField } from '../../db/database.js'
import { idNumberProblem, isCalendarDate } from '../../platform/id-number.js'

/**
 * Row validation of record ingest: pure functions over a dataset's field list. A field gets at most
 * one error (the first rule it breaks); messages describe the rule, never the offending value.
 */
export interface FieldProblem { field: string, message: string }
export interface Rejection { index: number, errors: FieldProblem[] }
export interface ValidRecord {
  key: string
  personKey: string | null
  data: Record<string, unknown>
  /** its encrypted fields' values sealed together, and their blind indexes, once encoded for storage */
  sealed?: Buffer | null
  blind?: Record<string, string> | null
  /** masked forms of its sealed values that do not depend on the grant (encryption/seal-records.ts) */
  masked?: Record<string, unknown> | null
  /** the keyed digest of its person key, for a dataset whose reads are traced (audit/persons/trace.ts) */
  personDigest?: Buffer | null
}
export interface RecordSpec { fields: readonly StoredField[], primaryKey: readonly string[], personKey: string | null }
export interface BatchOutcome {
  valid: ValidRecord[]
  rejected: Rejection[]
  /** rejection reasons counted by field name */
  errorCounts: Record<string, number>
}

/** A failing rule's message, or null when the value passes. */
type Check = (value: unknown) => string | null

/** Longest key, URL-encoded as DELETE addresses it: the router's limit on one path segment. */
export const MAX_KEY_PATH_LENGTH = 256

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/
const MOBILE = /^(?:\+86)?1[3-9]\d{9}$/
// the dot-atom form of RFC 5322 with a dotted domain of LDH labels; no quoted local parts, no IDN
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

export function isDate (text: string): boolean {
  const m = DATE.exec(text)
  return m !== null && isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]))
}

/** RFC 3339 §5.6 date-time: `T` (either case), an offset (`Z` or ±hh:mm), seconds up to 60 (leap second). */
export function isDateTime (text: string): boolean {
  const m = DATETIME.exec(text)
  if (m === null || !isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]))) return false
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) return false
  return m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59)
}

export function isEmail (text: string): boolean {
  const at = text.lastIndexOf('@')
  return text.length <= 254 && at > 0 && at <= 64 && EMAIL.test(text)
}

const TYPE_CHECKS: Record<StoredField['type'], Check> = {
  string: (v) => typeof v === 'string' ? null : 'must be a string',
  integer: (v) => typeof v === 'number' && Number.isSafeInteger(v) ? null : 'must be an integer',
  number: (v) => typeof v === 'number' && Number.isFinite(v) ? null : 'must be a number',
  boolean: (v) => typeof v === 'boolean' ? null : 'must be true or false',
  date: (v) => typeof v === 'string' && isDate(v) ? null : 'must be a date YYYY-MM-DD that exists in the calendar',
  datetime: (v) => typeof v === 'string' && isDateTime(v) ? null : 'must be an RFC 3339 date-time with an offset (2026-09-01T08:00:00+08:00)'
}

const FORMAT_CHECKS: Record<string, (text: string) => string | null> = {
  id_number: (s) => { const why = idNumberProblem(s); return why === null ? null : `is not a resident ID number: ${why}` },
  mobile: (s) => MOBILE.test(s) ? null : 'must be a mainland mobile number: 11 digits starting 13-19, optionally after +86',
  email: (s) => isEmail(s) ? null : 'must be an e-mail address'
}

function listOf (values: readonly (string | number)[]): string {
  const shown = values.slice(0, 20).join(', ')
  return values.length > 20 ? `${shown}, … (${values.length} values)` : shown
}

/** Length in code points, as JSON Schema's maxLength counts. */
function lengthOf (text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0xDC00 || unit > 0xDFFF) n++ // a low surrogate ends a pair already counted
  }
  return n
}

function patternCheck (pattern: string): Check {
  let regex: RegExp
  try {
    regex = new RegExp(pattern, 'u')
  } catch {
    return () => 'cannot be checked: the field\'s pattern is not a valid regular expression'
  }
  return (v) => typeof v !== 'string' || regex.test(v) ? null : `must match the pattern ${pattern}`
}

/** The row's own property: a field called `constructor` must not read Object.prototype's. */
function own (row: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(row, name) ? row[name] : undefined
}

/** Every rule of one field, in order: type, code table, pattern, length, range, format. */
export function compileField (field: StoredField): Check {
  const checks: Check[] = [TYPE_CHECKS[field.type]]
  // `!= null`: a field stored before a rule existed may lack the key altogether
  if (field.enum != null) {
    const allowed = new Set<unknown>(field.enum)
    const message = `must be one of ${listOf(field.enum)}`
    checks.push((v) => allowed.has(v) ? null : message)
  }
  if (field.pattern != null) checks.push(patternCheck(field.pattern))
  const { maxLength, minimum, maximum, format } = field
  if (maxLength != null) {
    checks.push((v) => typeof v !== 'string' || v.length <= maxLength || lengthOf(v) <= maxLength ? null : `must be at most ${maxLength} characters`)
  }
  if (minimum != null) checks.push((v) => typeof v !== 'number' || v >= minimum ? null : `must be at least ${minimum}`)
  if (maximum != null) checks.push((v) => typeof v !== 'number' || v <= maximum ? null : `must be at most ${maximum}`)
  const formatCheck = format == null ? undefined : FORMAT_CHECKS[format]
  if (formatCheck) checks.push((v) => typeof v !== 'string' ? null : formatCheck(v))
  if (checks.length === 1) return checks[0]!
  return (value) => {
    for (const check of checks) {
      const message = check(value)
      if (message !== null) return message
    }
    return null
  }
}

/**
 * The validator of one dataset's rows. Key fields are required whatever the field says; null is
 * absent; a property the dataset does not declare is an error.
 */
export function compileRowValidator (spec: RecordSpec): (row: Record<string, unknown>) => FieldProblem[] {
  const keyFields = new Set(spec.primaryKey)
  const fields = spec.fields.map((f) => ({ name: f.name, required: f.required || keyFields.has(f.name), check: compileField(f) }))
  const known = new Set(spec.fields.map((f) => f.name))
  return (row) => {
    const errors: FieldProblem[] = []
    for (const f of fields) {
      const value = own(row, f.name)
      if (value === undefined || value === null) {
        if (f.required) errors.push({ field: f.name, message: 'is required' })
        continue
      }
      const message = f.check(value)
      if (message !== null) errors.push({ field: f.name, message })
    }
    for (const name of Object.keys(row)) {
      if (!known.has(name)) errors.push({ field: name.slice(0, 100), message: 'is not a field of this dataset' })
    }
    return errors
  }
}

/** `record_key`: the value as text for a one-field key, the JSON array of the values as text for a composite one. */
export function recordKey (values: readonly unknown[]): string {
  return values.length === 1 ? String(values[0]) : JSON.stringify(values.map(String))
}

/** The key as DELETE addresses it: the values, each URL-encoded, joined by ','. */
export function keyPath (values: readonly unknown[]): string {
  return values.map((v) => encodeURIComponent(String(v))).join(',')
}

/** Whether the key's path form exceeds the limit; encoding only when it might (at most 9 characters per UTF-16 unit). */
function keyTooLong (values: readonly unknown[]): boolean {
  let units = 0
  for (const v of values) units += String(v).length + 1
  return units * 9 > MAX_KEY_PATH_LENGTH && keyPath(values).length > MAX_KEY_PATH_LENGTH
}

/** `record_key` from the raw (still URL-encoded) last path segment; null when its arity is wrong or it does not decode. */
export function keyFromPath (segment: string, primaryKey: readonly string[]): string | null {
  const parts = primaryKey.length === 1 ? [segment] : segment.split(',')
  if (parts.length !== primaryKey.length) return null
  try {
    return recordKey(parts.map((p) => decodeURIComponent(p)))
  } catch {
    return null
  }
}

/** Distinct field names counted per batch; stray names beyond this are counted under '*'. */
const MAX_COUNTED_FIELDS = 100

function count (counts: Map<string, number>, field: string) {
  const name = counts.has(field) || counts.size < MAX_COUNTED_FIELDS ? field : '*'
  counts.set(name, (counts.get(name) ?? 0) + 1)
}

/**
 * Validates a batch: valid rows with their keys, rejected rows with their errors. A key is claimed
 * by the first row that carries it; later rows with the same key are rejected (one upsert statement
 * cannot write a row twice, and a batch that says two things about one record is a producer bug).
 */
export function validateBatch (spec: RecordSpec, rows: readonly Record<string, unknown>[]): BatchOutcome {
  const validate = compileRowValidator(spec)
  const keyFields = new Set(spec.primaryKey)
  const keyLabel = spec.primaryKey.join(',')
  const seen = new Map<string, number>()
  const outcome: BatchOutcome = { valid: [], rejected: [], errorCounts: {} }
  const counts = new Map<string, number>()
  rows.forEach((row, index) => {
    const errors = validate(row)
    let key = ''
    const values = spec.primaryKey.map((name) => own(row, name))
    if (values.some((v) => v === undefined || v === null)) {
      // a key field the field list does not declare: the validator did not see it
      if (!errors.some((e) => keyFields.has(e.field))) errors.push({ field: keyLabel, message: 'is required' })
    } else if (!errors.some((e) => keyFields.has(e.field))) {
      key = recordKey(values)
      const first = seen.get(key)
      if (keyTooLong(values)) {
        errors.push({ field: keyLabel, message: `is too long: at most ${MAX_KEY_PATH_LENGTH} characters URL-encoded` })
      } else if (first !== undefined) {
        errors.push({ field: keyLabel, message: `repeats the key of row ${first} of this batch` })
      } else {
        seen.set(key, index)
      }
    }
    if (errors.length > 0) {
      outcome.rejected.push({ index, errors })
      for (const e of errors) count(counts, e.field)
      return
    }
    const person = spec.personKey === null ? undefined : own(row, spec.personKey)
    outcome.valid.push({ key, personKey: person === undefined || person === null ? null : String(person), data: row })
  })
  // fromEntries defines own properties: a stray field called __proto__ is counted, not assigned
  outcome.errorCounts = Object.fromEntries(counts)
  return outcome
}
