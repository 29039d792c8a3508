/**
 * The 18-digit resident identity number of GB 11643-1999: 6 digits of region, 8 of birth date
 * (YYYYMMDD), 3 of sequence, and a check character by ISO 7064 MOD 11-2 (0–9 or X).
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK_CHARACTERS = '10X98765432'
const SHAPE = /^[1-9]\d{16}[\dX]$/

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function isLeapYear (year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
}

/** A real day of the proleptic Gregorian calendar (2023-02-30 is not). */
export function isCalendarDate (year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false
  return day <= (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!)
}

/** The check character the first 17 digits call for. */
export function idNumberCheckCharacter (first17: string): string {
  let sum = 0
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i]!
  return CHECK_CHARACTERS[sum % 11]!
}

/**
 * Why `value` is not a valid resident ID number, or null when it is. The reason never repeats the
 * value: it may end up in a response that is logged or forwarded.
 */
export function idNumberProblem (value: string, today: Date = new Date()): string | null {
  if (!SHAPE.test(value)) return 'must be 18 characters: 17 digits and a check digit (0-9 or upper-case X)'
  const year = Number(value.slice(6, 10))
  const month = Number(value.slice(10, 12))
  const day = Number(value.slice(12, 14))
  if (year < 1800 || !isCalendarDate(year, month, day)) return 'does not hold a valid birth date'
  const birth = Date.UTC(year, month - 1, day)
  if (birth > today.getTime()) return 'holds a birth date in the future'
  if (idNumberCheckCharacter(value) !== value[17]) return 'has a wrong check digit (GB 11643, ISO 7064 MOD 11-2)'
  return null
}
