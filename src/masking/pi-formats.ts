import { PI_TYPES } from '../catalog/datasets/vocabulary.js'
import { chineseSurname, isEmail, isIPv4, isIPv6, isMobile, normaliseMobile, parseAddress, parseDate } from './formats.js'
import { interner, length, maskMiddle, repeatChar } from './text.js'

/**
 * The PI types a masking rule may name: the catalog's, and formats that are personal information in
 * context without being a catalog PI type of their own (IP addresses, plates, credit codes).
 */
export const MASKING_PI_TYPES = [...PI_TYPES, 'ip_address', 'license_plate', 'uscc'] as const
export type MaskingPiType = typeof MASKING_PI_TYPES[number]
export const isMaskingPiType = (v: unknown): v is MaskingPiType => typeof v === 'string' && (MASKING_PI_TYPES as readonly string[]).includes(v)

/** A PI type's default mask, made once per rule for its mask character. */
type Format = (char: string) => (s: string) => string

/** 11 ASCII digits starting with 1: /^1\d{10}$/ without the regex. */
function isPlainMobile (s: string): boolean {
  if (s.length !== 11 || s.charCodeAt(0) !== 49) return false
  for (let i = 1; i < 11; i++) {
    const d = s.charCodeAt(i) - 48
    if (d < 0 || d > 9) return false
  }
  return true
}

const keep = (first: number, last: number): Format => (c) => (s) => maskMiddle(s, first, last, c)

/** Default `mask` format of each PI type: what a rule naming the type and no parameters gives. */
const MASK_FORMATS: Partial<Record<MaskingPiType, Format>> = {
  id_number: keep(6, 4), // 110101********1234
  phone: (c) => {
    const four = repeatChar(c, 4)
    return (s) => {
      if (isPlainMobile(s)) return s.slice(0, 3) + four + s.slice(7) // 138****5678
      return isMobile(s) ? maskMiddle(normaliseMobile(s), 3, 4, c) : maskMiddle(s, 3, 4, c)
    }
  },
  name: (c) => {
    const intern = interner()
    return (s) => {
      const surname = chineseSurname(s)
      if (surname) return intern(surname + repeatChar(c, length(s) - surname.length)) // 张*, 欧阳**
      return maskMiddle(s, 1, 0, c)
    }
  },
  bank_card: (c) => (s) => maskMiddle(s.replace(/[\s-]/g, ''), 6, 4, c),
  email: (c) => {
    const three = repeatChar(c, 3)
    // z***@example.edu.cn: one string per domain and first character (ASCII in an e-mail), shared by the rows
    const byDomain = new Map<string, string[]>()
    return (s) => {
      if (!isEmail(s)) return maskMiddle(s, 1, 0, c)
      const domain = s.slice(s.lastIndexOf('@'))
      let masked = byDomain.get(domain)
      if (masked === undefined) {
        if (byDomain.size >= 4096) byDomain.clear()
        masked = []
        byDomain.set(domain, masked)
      }
      return (masked[s.charCodeAt(0)] ??= s[0]! + three + domain)
    }
  },
  address: (c) => {
    const four = repeatChar(c, 4)
    const intern = interner()
    return (s) => {
      const parts = parseAddress(s)
      if (!parts || !parts.rest) return maskMiddle(s, 6, 0, c)
      return intern(parts.province + (parts.city === parts.province ? '' : parts.city) + parts.district + four) // to the district
    }
  },
  passport: keep(1, 3),
  student_id: keep(4, 2),
  staff_id: keep(2, 2),
  birth_date: (c) => (s) => {
    const d = parseDate(s)
    return d ? `${d.year}-${c}${c}-${c}${c}` : maskMiddle(s, 0, 0, c)
  },
  ip_address: (c) => (s) => {
    if (isIPv4(s)) return s.split('.').slice(0, 2).join('.') + `.${c}.${c}`
    if (isIPv6(s)) return s.split(':').slice(0, 2).join(':') + `:${c}`
    return maskMiddle(s, 0, 0, c)
  },
  license_plate: keep(2, 1), // 京A****8
  uscc: keep(6, 4)
}

/** The default mask of a PI type (everything masked for none), as a function of the text. */
export function maskFormat (piType: string | undefined, char: string): (s: string) => string {
  const format = piType && Object.hasOwn(MASK_FORMATS, piType) ? MASK_FORMATS[piType as MaskingPiType] : undefined
  return format ? format(char) : (s) => maskMiddle(s, 0, 0, char)
}

export function maskByPiType (piType: string | undefined, s: string, char: string): string {
  return maskFormat(piType, char)(s)
}
