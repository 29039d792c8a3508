import { SENSITIVE_PI_TYPES } from '../platform/vocabulary.js'
import type { Row, Rule } from './engine.js'
import {
  ageOn, chineseSurname, idNumberBirthDate, isBankCard, isEmail, isEthnicity, isIp, isLicensePlate, isMobile, isPassport,
  isReligion, isUscc, parseAddress, parseDate
} from './formats.js'
import { piDefault } from './profiles.js'
import { textOf } from './text.js'

interface Detector {
  piType: string
  test: (s: string) => boolean
  /** how much a match says: check-digit formats near 1, shapes that other data shares less */
  weight: number
  /** a field name that makes the guess likely; `required` detectors only count with it */
  hint?: RegExp
  required?: boolean
}

const GENDERS = new Set(['男', '女', 'm', 'f', 'male', 'female', '1', '2'])
const thisYear = new Date().getUTCFullYear()

const DETECTORS: Detector[] = [
  { piType: 'id_number', test: (s) => idNumberBirthDate(s) !== null, weight: 1, hint: /id_?(no|num|card)|sfz|身份证|证件/i },
  { piType: 'uscc', test: isUscc, weight: 1, hint: /credit|uscc|信用代码/i },
  { piType: 'phone', test: isMobile, weight: 0.95, hint: /phone|mobile|tel|sj|手机|电话/i },
  { piType: 'bank_card', test: isBankCard, weight: 0.9, hint: /bank|card|account|yhk|银行|卡号/i },
  { piType: 'email', test: isEmail, weight: 1, hint: /mail|邮箱/i },
  { piType: 'passport', test: isPassport, weight: 0.8, hint: /passport|护照/i },
  { piType: 'license_plate', test: isLicensePlate, weight: 0.9, hint: /plate|车牌/i },
  { piType: 'ip_address', test: isIp, weight: 0.9, hint: /ip/i },
  { piType: 'ethnicity', test: isEthnicity, weight: 0.95, hint: /ethnic|nation|mz|民族/i },
  { piType: 'religion', test: isReligion, weight: 0.9, hint: /relig|宗教|信仰/i },
  { piType: 'name', test: (s) => chineseSurname(s) !== null, weight: 0.8, hint: /name|xm|姓名|名字/i },
  { piType: 'address', test: (s) => s.length >= 5 && parseAddress(s) !== null, weight: 0.85, hint: /addr|address|dz|地址|住址|籍贯/i },
  {
    piType: 'birth_date',
    test: (s) => { const d = parseDate(s); return d !== null && d.year >= 1900 && d.year <= thisYear },
    weight: 0.9,
    hint: /birth|dob|csrq|出生|生日/i,
    required: true
  },
  { piType: 'gender', test: (s) => GENDERS.has(s.toLowerCase()), weight: 0.9, hint: /gender|sex|xb|性别/i, required: true },
  { piType: 'student_id', test: (s) => /^\d{8,13}$/.test(s), weight: 0.8, hint: /student|stu_?(id|no)|xh|学号/i, required: true },
  { piType: 'staff_id', test: (s) => /^[A-Za-z0-9]{4,12}$/.test(s), weight: 0.8, hint: /staff|employee|emp_?(id|no)|gh|工号|teacher_?id/i, required: true }
]

/** The bar a guess must clear to be proposed. */
const THRESHOLD = 0.5

export interface FieldGuess {
  piType: string | null
  confidence: number
  matches: number
  values: number
  sensitive: boolean
  /** the display-profile default rule the guess proposes */
  proposedRule: Rule | null
}

export interface Detection {
  fields: Record<string, FieldGuess>
  /** rows that hold a child's data (under 14 by an ID number's or a birth date's), R9.3 */
  children: { count: number, rows: number[] }
}

const MAX_LISTED_CHILDREN = 1000

export function detect (rows: Row[], today = new Date()): Detection {
  const names = new Set<string>()
  for (const row of rows) for (const k of Object.keys(row)) names.add(k)
  const fields: Record<string, FieldGuess> = {}
  for (const name of names) fields[name] = guessField(name, rows)

  const birthFields = Object.entries(fields).filter(([, g]) => g.piType === 'id_number' || g.piType === 'birth_date').map(([n]) => n)
  const childRows: number[] = []
  let count = 0
  rows.forEach((row, index) => {
    for (const field of birthFields) {
      const s = textOf(row[field])
      if (s === null) continue
      const birth = birthOf(s, today)
      if (birth && ageOn(birth, today) < 14) {
        count++
        if (childRows.length < MAX_LISTED_CHILDREN) childRows.push(index)
        return
      }
    }
  })
  return { fields, children: { count, rows: childRows } }
}

function birthOf (s: string, today: Date) {
  const id = idNumberBirthDate(s, today)
  if (id) return { year: id.getUTCFullYear(), month: id.getUTCMonth() + 1, day: id.getUTCDate() }
  return parseDate(s)
}

function guessField (name: string, rows: Row[]): FieldGuess {
  const values: string[] = []
  for (const row of rows) {
    const s = textOf(row[name])?.trim()
    if (s) values.push(s.length > 256 ? s.slice(0, 256) : s)
  }
  let best: { detector: Detector, matches: number, confidence: number } | null = null
  for (const detector of DETECTORS) {
    const hinted = detector.hint?.test(name) ?? false
    if (detector.required && !hinted) continue
    let matches = 0
    for (const v of values) if (detector.test(v)) matches++
    if (matches === 0) continue
    const confidence = Math.min(1, (matches / values.length) * detector.weight + (hinted ? 0.1 : 0))
    if (!best || confidence > best.confidence) best = { detector, matches, confidence }
  }
  if (!best || best.confidence < THRESHOLD) {
    return { piType: null, confidence: best ? round(best.confidence) : 0, matches: best?.matches ?? 0, values: values.length, sensitive: false, proposedRule: null }
  }
  const piType = best.detector.piType
  return {
    piType,
    confidence: round(best.confidence),
    matches: best.matches,
    values: values.length,
    sensitive: SENSITIVE_PI_TYPES.has(piType),
    proposedRule: piDefault(piType, 3, 'display') ?? { strategy: 'redact' }
  }
}

const round = (x: number) => Math.round(x * 100) / 100
