import { PI_TYPES } from '../platform/vocabulary.js'
import {
  addressEnds, chineseSurnameCode, cityRepeatsProvince, districtEnd, isEmail, isEmailLocalPart, isIPv4, isIPv6, isMobile, normaliseMobile, parseAddress,
  parseDate, surnameLength
} from './formats.js'
import { maskMiddle, pieceMemo, repeatChar } from './text.js'

/**
 * The PI types a masking rule may name: the catalog's, and formats that are personal information in
 * context without being a catalog PI type of their own (IP addresses, plates, credit codes).
 */
export const MASKING_PI_TYPES = [...PI_TYPES, 'ip_address', 'license_plate', 'uscc'] as const
export type MaskingPiType = typeof MASKING_PI_TYPES[number]
export const isMaskingPiType = (v: unknown): v is MaskingPiType => typeof v === 'string' && (MASKING_PI_TYPES as readonly string[]).includes(v)

/** A domain of e-mail addresses (from the "@") and its masked addresses by first character. */
interface Domain { domain: string, masked: string[] }

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
    const star = c.length === 1 ? c.charCodeAt(0) : -1
    return (s) => {
      if (isPlainMobile(s)) { // 138****5678, written in one piece
        return star < 0
          ? maskMiddle(s, 3, 4, c)
          : String.fromCharCode(s.charCodeAt(0), s.charCodeAt(1), s.charCodeAt(2), star, star, star, star,
            s.charCodeAt(7), s.charCodeAt(8), s.charCodeAt(9), s.charCodeAt(10))
      }
      return isMobile(s) ? maskMiddle(normaliseMobile(s), 3, 4, c) : maskMiddle(s, 3, 4, c)
    }
  },
  name: (c) => {
    // 张*, 欧阳**: the output depends on the surname and the length only, so each is made once
    const outputs = new Map<number, string>()
    return (s) => {
      const surname = chineseSurnameCode(s)
      if (surname < 0) return maskMiddle(s, 1, 0, c)
      const key = surname * 16 + s.length // a name is at most 13 characters, all in the BMP
      let out = outputs.get(key)
      if (out === undefined) {
        const kept = surnameLength(surname)
        out = s.slice(0, kept) + repeatChar(c, s.length - kept)
        outputs.set(key, out) // bounded by the surnames known times 13 lengths
      }
      return out
    }
  },
  bank_card: (c) => (s) => maskMiddle(s.replace(/[\s-]/g, ''), 6, 4, c),
  email: (c) => {
    const three = repeatChar(c, 3)
    // z***@example.edu.cn: one string per domain and first character (ASCII in an e-mail), shared by
    // the rows. Only valid domains are remembered: one seen before (found by its length and one
    // comparison, else by a hash of the text) leaves only the part before the "@" to check.
    const domains = pieceMemo((domain): Domain => ({ domain, masked: [] }))
    const byLength: (Domain | undefined)[] = []
    const masked = (s: string, d: Domain) => (d.masked[s.charCodeAt(0)] ??= s[0]! + three + d.domain)
    return (s) => {
      const at = s.indexOf('@')
      if (at > 0 && s.length <= 254) {
        let d = byLength[s.length - at]
        if (d === undefined || !s.endsWith(d.domain)) {
          d = domains.find(s, at, s.length)
          if (d !== undefined) byLength[s.length - at] = d
        }
        if (d !== undefined && isEmailLocalPart(s, at)) return masked(s, d)
      }
      if (!isEmail(s)) return maskMiddle(s, 1, 0, c)
      const d = domains.get(s, at, s.length)
      byLength[s.length - at] = d
      return masked(s, d)
    }
  },
  address: (c) => {
    const four = repeatChar(c, 4)
    const toDistrict = pieceMemo((prefix) => prefix + four)
    return (s) => {
      const ends = addressEnds(s)
      if (ends < 0 || districtEnd(ends) === s.length) return maskMiddle(s, 6, 0, c) // nothing after the district
      // province + city + district, the first characters of the address, unless the city repeats the province
      if (!cityRepeatsProvince(s, ends)) return toDistrict.get(s, 0, districtEnd(ends))
      const parts = parseAddress(s)!
      return parts.province + parts.district + four
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
