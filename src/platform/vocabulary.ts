/** The catalog's enumerations, and the orderings grading relies on. */
export const CATEGORIES = ['student', 'staff', 'teaching', 'asset', 'research', 'school', 'routine'] as const
/** highest first */
export const GRADES = ['important', 'ordinary', 'internal_public', 'external_public'] as const
/** GB/T 43697-2024, highest first */
export const NATIONAL_GRADES = ['core', 'important', 'general'] as const
export const ATTRIBUTES = ['unconditional', 'conditional', 'none'] as const
export const STATUSES = ['draft', 'published', 'retired', 'destroyed'] as const
export const FREQUENCIES = ['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', 'on_demand'] as const
/** How data comes into being (采集方式, R3.2): closed, so that a new method is a change the office reviews. */
export const COLLECTION_METHODS = ['self_reported', 'business_process', 'manual_entry', 'device', 'external_source', 'derived'] as const
export const COLLECTION_FREQUENCIES = ['once', ...FREQUENCIES] as const
export const GRADING_STATUSES = ['proposed', 'confirmed', 'rejected'] as const
export const FIELD_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'datetime'] as const
export const FIELD_FORMATS = ['id_number', 'mobile', 'email'] as const
export const PI_TYPES = [
  'id_number', 'name', 'phone', 'email', 'address', 'bank_card', 'birth_date', 'gender', 'ethnicity', 'religion',
  'health', 'biometric', 'location', 'student_id', 'staff_id', 'passport', 'photo', 'family', 'education', 'other'
] as const

export type Category = typeof CATEGORIES[number]
export type Grade = typeof GRADES[number]
export type NationalGrade = typeof NATIONAL_GRADES[number]
export type Attribute = typeof ATTRIBUTES[number]
export type Status = typeof STATUSES[number]
export type PiType = typeof PI_TYPES[number]
export type FieldFormat = typeof FIELD_FORMATS[number]
export type Frequency = typeof FREQUENCIES[number]
export type GradingStatus = typeof GRADING_STATUSES[number]
export type CollectionMethod = typeof COLLECTION_METHODS[number]
export type CollectionFrequency = typeof COLLECTION_FREQUENCIES[number]

/** Sensitive personal information (敏感个人信息) of R9.2: ethnicity, religion, biometrics, health, financial accounts, whereabouts. */
export const SENSITIVE_PI_TYPES: ReadonlySet<string> = new Set(['ethnicity', 'religion', 'health', 'biometric', 'bank_card', 'location'])

/** The lowest sensitivity a field of this PI type may be given. */
export function minimumSensitivity (piType: string | null): number {
  if (piType === null) return 1
  return SENSITIVE_PI_TYPES.has(piType) ? 4 : 3
}

/** The format a PI type implies when the field names none. */
export function defaultFormat (piType: string | null): FieldFormat | null {
  switch (piType) {
    case 'id_number': return 'id_number'
    case 'phone': return 'mobile'
    case 'email': return 'email'
    default: return null
  }
}

/** Rank of a share or open attribute's protection: 1 for unconditional up to 3 for none. */
export function attributeRank (attribute: string): number {
  return ATTRIBUTES.indexOf(attribute as Attribute) + 1
}

/** Rank of a grade: 4 for important down to 1 for external_public. */
export function gradeRank (grade: string): number {
  return GRADES.length - GRADES.indexOf(grade as Grade)
}

export function nationalRank (grade: string): number {
  return NATIONAL_GRADES.length - NATIONAL_GRADES.indexOf(grade as NationalGrade)
}

export function higherGrade (a: Grade, b: Grade): Grade {
  return gradeRank(a) >= gradeRank(b) ? a : b
}

export function higherNationalGrade (a: NationalGrade, b: NationalGrade): NationalGrade {
  return nationalRank(a) >= nationalRank(b) ? a : b
}

/** Days a dataset may go without new data before it counts as stale (R2.10); null: no expectation. */
export const FRESHNESS_DAYS: Record<typeof FREQUENCIES[number], number | null> = {
  realtime: 1, daily: 2, weekly: 8, monthly: 32, quarterly: 93, yearly: 367, on_demand: null
}
