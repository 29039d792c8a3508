import safeRegex from 'safe-regex2'
import type { Dataset, GradingLevel, StoredField } from '../../db/database.js'
import { FieldError } from '../../platform/errors.js'
import type { FieldInput } from './schemas.js'
import {
  defaultFormat, gradeRank, minimumSensitivity, nationalRank, SENSITIVE_PI_TYPES, type Grade, type NationalGrade
} from '../../platform/vocabulary.js'

/**
 * Grading rules of the catalog: grading follows the data and the highest wins (就高从严). A dataset's
 * grade is never below what its most sensitive field demands under the office's grading policy, nor
 * below the grade of any dataset it is derived from (R2.3, R6.4).
 */

/** Fills a field's defaults and checks what its schema cannot: the rules between its properties. */
export function normalizeFields (input: readonly FieldInput[]): StoredField[] {
  const seen = new Set<string>()
  return input.map((f, i) => {
    const at = (property: string) => `fields.${i}.${property}`
    if (seen.has(f.name.toLowerCase())) throw new FieldError(at('name'), `duplicates the field ${f.name}`)
    seen.add(f.name.toLowerCase())
    const floor = minimumSensitivity(f.piType)
    const sensitivity = f.sensitivity ?? floor
    if (sensitivity < floor) {
      throw new FieldError(at('sensitivity'), `must be at least ${floor} for personal information of type ${f.piType}${SENSITIVE_PI_TYPES.has(f.piType!) ? ' (sensitive, R9.2)' : ''}`)
    }
    const format = f.format === undefined ? defaultFormat(f.piType) : f.format
    if (format !== null && f.type !== 'string') throw new FieldError(at('format'), `applies to string fields, not ${f.type}`)
    if ((f.pattern !== null || f.maxLength !== null) && f.type !== 'string') {
      throw new FieldError(at(f.pattern !== null ? 'pattern' : 'maxLength'), `applies to string fields, not ${f.type}`)
    }
    if (f.pattern !== null) {
      try {
        new RegExp(f.pattern, 'u') // eslint-disable-line no-new
      } catch {
        throw new FieldError(at('pattern'), 'is not a valid regular expression')
      }
      // ingest runs the pattern on every value in the event loop: no exponential backtracking
      if (!safeRegex(f.pattern)) throw new FieldError(at('pattern'), 'nests quantifiers (catastrophic backtracking); simplify it')
    }
    const numeric = f.type === 'integer' || f.type === 'number'
    if ((f.minimum !== null || f.maximum !== null) && !numeric) {
      throw new FieldError(at(f.minimum !== null ? 'minimum' : 'maximum'), `applies to integer and number fields, not ${f.type}`)
    }
    if (f.minimum !== null && f.maximum !== null && f.minimum > f.maximum) throw new FieldError(at('maximum'), 'must not be below minimum')
    if (f.enum !== null) {
      const bad = f.enum.findIndex((v) => numeric ? typeof v !== 'number' || (f.type === 'integer' && !Number.isInteger(v)) : typeof v !== 'string')
      if (bad >= 0 || f.type === 'boolean') throw new FieldError(`${at('enum')}.${Math.max(bad, 0)}`, `must be a value of type ${f.type}`)
    }
    return {
      name: f.name,
      type: f.type,
      required: f.required,
      piType: f.piType,
      sensitivity,
      description: f.description,
      format,
      enum: f.enum,
      pattern: f.pattern,
      maxLength: f.maxLength,
      minimum: f.minimum,
      maximum: f.maximum,
      masking: f.masking as StoredField['masking']
    }
  })
}

/** The primary key and person key must name fields of the dataset. */
export function checkKeys (fields: readonly StoredField[], primaryKey: readonly string[], personKey: string | null): void {
  const byName = new Map(fields.map((f) => [f.name, f]))
  primaryKey.forEach((name, i) => {
    const field = byName.get(name)
    if (!field) throw new FieldError(`primaryKey.${i}`, `names no field of the dataset: ${name}`)
    if (field.type !== 'string' && field.type !== 'integer') throw new FieldError(`primaryKey.${i}`, `key fields must be string or integer, ${name} is ${field.type}`)
  })
  if (personKey !== null && !byName.has(personKey)) throw new FieldError('personKey', `names no field of the dataset: ${personKey}`)
}

export interface Floor {
  grade: Grade
  nationalGrade: NationalGrade
  /** why, for the caller and the grade history */
  because: string
}

/** The lowest grade the data allows: the highest demanded by a field or by a source dataset. */
export function gradeFloor (fields: readonly StoredField[], levels: readonly GradingLevel[], sources: readonly Dataset[]): Floor {
  const level = new Map(levels.map((l) => [l.sensitivity, l]))
  let floor: Floor = { grade: 'external_public', nationalGrade: 'general', because: 'no field demands more' }
  for (const f of fields) {
    const l = level.get(f.sensitivity)
    if (!l) continue
    if (gradeRank(l.minimum_grade) > gradeRank(floor.grade)) {
      floor = { ...floor, grade: l.minimum_grade, because: `field ${f.name} has sensitivity ${f.sensitivity}` }
    }
    if (nationalRank(l.national_grade) > nationalRank(floor.nationalGrade)) floor = { ...floor, nationalGrade: l.national_grade }
  }
  for (const s of sources) {
    if (gradeRank(s.grade) > gradeRank(floor.grade)) floor = { ...floor, grade: s.grade, because: `it is derived from ${s.code}, graded ${s.grade}` }
    if (nationalRank(s.national_grade) > nationalRank(floor.nationalGrade)) floor = { ...floor, nationalGrade: s.national_grade }
  }
  return floor
}

/** Refuses a grade or national grade below the floor, naming the field that demands it. */
export function checkAgainstFloor (grade: string, nationalGrade: string, floor: Floor): void {
  if (gradeRank(grade) < gradeRank(floor.grade)) {
    throw new FieldError('grade', `must be at least ${floor.grade} because ${floor.because} (grading follows the data, highest wins)`)
  }
  if (nationalRank(nationalGrade) < nationalRank(floor.nationalGrade)) {
    throw new FieldError('nationalGrade', `must be at least ${floor.nationalGrade} under the grading policy`)
  }
}

export interface PiFlags { holds: boolean, sensitive: boolean, children: boolean }

/** Personal-information flags: what the fields show, or what the producer declares beyond that. */
export function piFlags (fields: readonly StoredField[], declared: Partial<PiFlags>): PiFlags {
  const sensitive = declared.sensitive === true || fields.some((f) => f.piType !== null && SENSITIVE_PI_TYPES.has(f.piType))
  const children = declared.children === true
  const holds = declared.holds === true || sensitive || children || fields.some((f) => f.piType !== null)
  return { holds, sensitive, children }
}

/**
 * Important data, sensitive personal information and children's personal information are never
 * shared or opened unconditionally (R2.4, R2.5, R9.2, R9.3).
 */
export function checkAttributes (d: { grade: string, shareAttribute: string, openAttribute: string, pi: PiFlags }): void {
  const why = d.grade === 'important'
    ? 'the dataset is graded important'
    : d.pi.sensitive ? 'the dataset holds sensitive personal information (R9.2)' : d.pi.children ? 'the dataset holds personal information of children under 14 (R9.3)' : null
  if (why === null) return
  if (d.shareAttribute === 'unconditional') throw new FieldError('shareAttribute', `cannot be unconditional: ${why}; use conditional or none`)
  if (d.openAttribute === 'unconditional') throw new FieldError('openAttribute', `cannot be unconditional: ${why}; use conditional or none`)
}

/** Only important datasets may have their field list restricted (R2.8). */
export function checkRestriction (grade: string, restricted: boolean): void {
  if (restricted && grade !== 'important') throw new FieldError('restricted', 'only the metadata of an important dataset can be restricted')
}
