import { ageOn, cityEnd, cityRepeatsProvince, districtEnd, idNumberBirthDate, parseAddress, parseDate, provinceEnd } from './formats.js'
import { textOf } from './text.js'

/** Levels a value can be generalised to. */
export const GENERALIZE_LEVELS = ['year', 'year_month', 'range', 'age_band', 'province', 'city', 'district'] as const
export type GeneralizeLevel = typeof GENERALIZE_LEVELS[number]

export function numberOf (value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string' && /^-?\d+(?:\.\d+)?$/.test(value.trim())) return Number(value)
  return null
}

/** `[lo, lo + width)` written 20-29 for whole numbers and whole widths, else [20.5,30.5). */
export function bucket (n: number, width: number): string {
  const lo = Math.floor(n / width) * width
  if (Number.isInteger(width) && Number.isInteger(n)) return `${lo}-${lo + width - 1}`
  const round = (x: number) => Number(x.toFixed(6))
  return `[${round(lo)},${round(lo + width)})`
}

function birthOf (text: string) {
  const date = parseDate(text)
  if (date) return date
  const birth = idNumberBirthDate(text)
  return birth ? { year: birth.getUTCFullYear(), month: birth.getUTCMonth() + 1, day: birth.getUTCDate() } : null
}

/** The generalised value, or null when the value cannot be read at that level (never the raw value). */
export function generalize (value: unknown, to: GeneralizeLevel, width: number, today: Date): string | null {
  const text = textOf(value)
  if (text === null) return null
  switch (to) {
    case 'year': case 'year_month': {
      const d = parseDate(text)
      if (!d) return null
      return to === 'year' ? String(d.year) : `${d.year}-${String(d.month).padStart(2, '0')}`
    }
    case 'range': {
      const n = numberOf(value)
      return n === null ? null : bucket(n, width)
    }
    case 'age_band': {
      const n = numberOf(value)
      if (n !== null && n >= 0 && n < 150) return bucket(Math.floor(n), width)
      const birth = birthOf(text)
      return birth ? bucket(Math.max(0, ageOn(birth, today)), width) : null
    }
    default: {
      const parts = parseAddress(text)
      if (!parts) return null
      const city = parts.city === parts.province ? '' : parts.city
      if (to === 'province') return parts.province || parts.city
      if (to === 'city') return (parts.province + city) || null
      return (parts.province + city + parts.district) || null
    }
  }
}

/** String(year), one copy per year (four digits: fast elements, made when first asked for). */
const YEARS: (string | undefined)[] = new Array(10000)
export const yearText = (year: number): string => year < 10000 ? (YEARS[year] ??= String(year)) : String(year)

/**
 * The address level of `generalize` as the length of the address's prefix it is, given the
 * address's `addressEnds` (not -1; with the district for `district`); -1 when it is no prefix (a
 * city repeating its province, then a district: 北京市北京市海淀区 → 北京市海淀区).
 */
export function addressLevelEnd (text: string, ends: number, to: 'province' | 'city' | 'district'): number {
  const p = provinceEnd(ends)
  if (to === 'province') return p > 0 ? p : cityEnd(ends)
  const repeats = cityRepeatsProvince(text, ends)
  if (to === 'city') return repeats ? p : cityEnd(ends)
  if (!repeats) return districtEnd(ends)
  return districtEnd(ends) === cityEnd(ends) ? p : -1
}

/** The level a value kind is generalised to when the rule names none. */
export function defaultLevel (piType: string | undefined): GeneralizeLevel | null {
  switch (piType) {
    case 'birth_date': return 'year'
    case 'address': case 'location': return 'city'
    default: return null
  }
}

/** Guesses the level from the value itself: dates to the year, numbers to ranges, addresses to the city. */
export function levelFor (value: unknown): GeneralizeLevel | null {
  if (numberOf(value) !== null) return 'range'
  const text = textOf(value)
  if (text === null) return null
  if (parseDate(text)) return 'year'
  if (parseAddress(text)) return 'city'
  return null
}
