import type { StoredField } from '../db/database.js'
import { SENSITIVE_PI_TYPES } from '../platform/vocabulary.js'
import type { Rule } from './engine.js'

/**
 * Scenario profiles: the same field is masked differently for display on screen, for the
 * university's own statistics and analysis (R6.2) and for third parties (R7.6).
 */
export const PROFILES = ['display', 'internal_analysis', 'third_party'] as const
export type Profile = typeof PROFILES[number]

/** What a field with a PI type gets when nothing applies: it is dropped, never passed through. */
export const STRICTEST: Rule = Object.freeze({ strategy: 'redact' })

const IDENTIFIERS = new Set(['id_number', 'student_id', 'staff_id', 'passport', 'license_plate', 'uscc'])
const pseudonym = (piType: string): Rule => ({ strategy: 'hash', piType, algorithm: 'sha256', length: 32 })

function display (piType: string): Rule | null {
  switch (piType) {
    case 'id_number': case 'phone': case 'name': case 'bank_card': case 'email': case 'address': case 'passport':
    case 'student_id': case 'staff_id': case 'birth_date': case 'ip_address': case 'license_plate': case 'uscc':
      return { strategy: 'mask', piType }
    case 'gender': case 'education':
      return { strategy: 'keep' }
    default:
      return null
  }
}

function internalAnalysis (piType: string): Rule | null {
  if (IDENTIFIERS.has(piType)) return pseudonym(piType)
  switch (piType) {
    case 'address': case 'location': return { strategy: 'generalize', piType, to: 'city' }
    case 'birth_date': return { strategy: 'generalize', piType, to: 'year' }
    case 'ip_address': return { strategy: 'mask', piType }
    case 'gender': case 'education': return { strategy: 'keep' }
    default: return null
  }
}

function thirdParty (piType: string): Rule | null {
  if (IDENTIFIERS.has(piType)) return pseudonym(piType)
  switch (piType) {
    case 'address': return { strategy: 'generalize', piType, to: 'province' }
    case 'birth_date': return { strategy: 'generalize', piType, to: 'age_band', width: 10 }
    default: return null
  }
}

/**
 * The default rule of a PI type in a profile, or null when there is none (the strictest then
 * applies). Sensitive PI (ethnicity, religion, health, biometrics, financial accounts, whereabouts)
 * and sensitivity-4 fields only ever reach screens, masked.
 */
export function piDefault (piType: string, sensitivity: number, profile: Profile): Rule | null {
  const sensitive = SENSITIVE_PI_TYPES.has(piType) || sensitivity >= 4
  if (sensitive && profile !== 'display' && piType !== 'location') return null
  if (profile === 'display') return display(piType)
  if (profile === 'internal_analysis') return internalAnalysis(piType)
  return sensitive ? null : thirdParty(piType)
}

/** Non-PI fields pass, except highly sensitive ones to third parties. */
export function plainDefault (field: Pick<StoredField, 'sensitivity'>, profile: Profile): Rule {
  return profile === 'third_party' && field.sensitivity >= 4 ? STRICTEST : { strategy: 'keep' }
}
