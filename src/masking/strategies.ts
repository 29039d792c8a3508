import { createHmac } from 'node:crypto'
import { Type, type TSchema } from 'typebox'
import { keyedDigest } from '../platform/digest.js'
import { addressLevelEnd, defaultLevel, generalize, GENERALIZE_LEVELS, levelFor, numberOf, yearText, type GeneralizeLevel } from './generalize.js'
import { base32, tokenize, type HashAlgorithm, type MaskingKey, type TokenAlgorithm } from './keys.js'
import { maskFormat } from './pi-formats.js'
import { addressEnds, dateYear, isMobile, isoDay, normaliseMobile } from './formats.js'
import { surrogate } from './surrogate.js'
import { canonicalText, interner, maskMiddle, pieceMemo, takeFirst, takeLast, textOf } from './text.js'

/** What a compiled rule returns to drop the field from the row. */
export const REDACT: unique symbol = Symbol('redact')
/**
 * A compiled rule. `onString`, when a rule has one, is the same function for a string value: the row
 * function calls it directly, skipping the checks on the value's type.
 */
export type MaskFn = ((value: unknown) => unknown) & { onString?: (s: string) => unknown }

export interface CompileContext {
  key: MaskingKey
  /** who the keyed outputs belong to: a grant, or a unit's own apply calls */
  scope: string
  today: Date
}

export interface StrategyDefinition {
  name: string
  description: string
  /** reversible by the office with the platform key */
  reversible: boolean
  /** keeps equality within one scope, so masked columns still join */
  deterministic: boolean
  params: Record<string, TSchema>
  /**
   * The output depends on the value and the rule's parameters alone (not on the key, the scope or
   * the day), so it can be worked out once, at ingest, and kept beside a sealed value (see
   * kept-forms.ts). Never `keep`: its output is the value itself.
   */
  valueOnly?: boolean | ((params: Record<string, unknown>) => boolean)
  compile (params: Record<string, unknown>, piType: string | undefined, ctx: CompileContext): MaskFn
}

const char = Type.String({ minLength: 1, maxLength: 2, pattern: '^.$', default: '*', description: 'the mask character (one character)' })
const count = (description: string) => Type.Integer({ minimum: 0, maximum: 64, description })

/** Values a hash rule remembers the output of. */
const HASH_CACHE = 10_000

/** Null and undefined stay null under every rule but redact: there is nothing to hide in them. */
const text = (fn: (s: string) => unknown): MaskFn => {
  const masker: MaskFn = (value) => {
    const s = textOf(value)
    return s === null ? null : fn(s)
  }
  masker.onString = fn
  return masker
}

/** Normalises identifiers before keyed transforms, so that "+86 138…" and "138…" give one output. */
function normalised (piType: string | undefined, s: string): string {
  if (piType === 'phone' && isMobile(s)) return normaliseMobile(s)
  if (piType === 'id_number' || piType === 'passport' || piType === 'uscc') return s.trim().toUpperCase()
  if (piType === 'email') return s.trim().toLowerCase()
  return s
}

export const STRATEGIES: Record<string, StrategyDefinition> = {
  keep: {
    name: 'keep',
    description: 'Passes the value through unchanged. Never applied to a personal-information field in the third_party profile.',
    reversible: true,
    deterministic: true,
    params: {},
    compile: () => (value) => value
  },
  redact: {
    name: 'redact',
    description: 'Drops the field from the row.',
    reversible: false,
    deterministic: true,
    params: {},
    compile: () => () => REDACT
  },
  null: {
    name: 'null',
    valueOnly: true,
    description: 'Keeps the field and sets it to null.',
    reversible: false,
    deterministic: true,
    params: {},
    compile: () => () => null
  },
  replace: {
    name: 'replace',
    valueOnly: true,
    description: 'Writes one constant in place of every value.',
    reversible: false,
    deterministic: true,
    params: { value: Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean(), Type.Null()], { default: '***', description: 'the constant' }) },
    compile: (p) => {
      const constant = p.value === undefined ? '***' : p.value
      return () => constant
    }
  },
  mask: {
    name: 'mask',
    valueOnly: true,
    description: 'Keeps the first `keepFirst` and last `keepLast` characters (Unicode code points) and masks the rest with `char`; ' +
      'at least a third of a short value is always masked. With a `piType` and neither count, the type\'s default format: ' +
      'id_number 110101********1234, phone 138****5678, name 张* / 欧阳**, bank_card first 6 last 4, email z***@example.edu.cn, ' +
      'address to the district, passport, student_id, staff_id, birth_date (year only), ip_address, license_plate, uscc.',
    reversible: false,
    deterministic: true,
    params: {
      keepFirst: count('characters kept at the start'),
      keepLast: count('characters kept at the end'),
      char,
      fixedLength: Type.Integer({ minimum: 1, maximum: 32, description: 'write exactly this many mask characters, hiding the length' })
    },
    compile: (p, piType) => {
      const c = (p.char as string | undefined) ?? '*'
      if (p.keepFirst === undefined && p.keepLast === undefined && p.fixedLength === undefined) {
        return text(maskFormat(piType, c))
      }
      const first = (p.keepFirst as number | undefined) ?? 0
      const last = (p.keepLast as number | undefined) ?? 0
      const fixed = p.fixedLength as number | undefined
      return text((s) => maskMiddle(s, first, last, c, fixed))
    }
  },
  hash: {
    name: 'hash',
    description: 'Keyed HMAC (SHA-256 or SM3) of the value under a key derived from the platform masking secret and the scope ' +
      '(the grant, or the caller\'s unit for /masking/apply): equal values give equal hashes within a scope, so joins work, ' +
      'and unrelated hashes across scopes. Hex or base32, optionally truncated.',
    reversible: false,
    deterministic: true,
    params: {
      algorithm: Type.Enum(['sha256', 'sm3'], { default: 'sha256', description: 'HMAC hash function' }),
      encoding: Type.Enum(['hex', 'base32'], { default: 'hex' }),
      length: Type.Integer({ minimum: 8, maximum: 64, description: 'characters kept of the encoded hash' })
    },
    compile: (p, piType, ctx) => {
      const algorithm = (p.algorithm as HashAlgorithm | undefined) ?? 'sha256'
      const key = ctx.key.derive(`hash-${algorithm}`, ctx.scope)
      const len = p.length as number | undefined
      const encode: (text: string) => string = p.encoding === 'base32'
        ? ((bytes) => (text) => base32(bytes(text)))(keyedDigest(algorithm, key, 'buffer'))
        : keyedDigest(algorithm, key, 'hex')
      // the hash of a value is fixed for the rule: repeated values (a column's codes, a student in
      // many rows) are hashed once. Short values only, and a bounded number of them.
      const seen = new Map<string, string>()
      const hashOf = (text: string) => {
        let out = seen.get(text)
        if (out === undefined) {
          out = encode(text)
          if (len !== undefined) out = out.slice(0, len)
          if (text.length <= 64) {
            if (seen.size >= HASH_CACHE) seen.clear()
            seen.set(text, out)
          }
        }
        return out
      }
      const masker: MaskFn = (value) => {
        const s = canonicalText(value)
        return s === null ? null : hashOf(normalised(piType, s))
      }
      masker.onString = piType === undefined ? hashOf : (s) => hashOf(normalised(piType, s))
      return masker
    }
  },
  generalize: {
    name: 'generalize',
    valueOnly: (p) => p.to !== 'age_band', // an age band moves with the day
    description: 'Coarsens the value: a date to its `year` or `year_month`; a number to a `range` of `width`; a birth date, ID number or ' +
      'age to an `age_band` of `width` years; an address to its `province`, `city` or `district`. Without `to`, by PI type ' +
      '(birth_date → year, address → city) or by the value. A value that cannot be read at that level becomes null.',
    reversible: false,
    deterministic: true,
    params: {
      to: Type.Enum([...GENERALIZE_LEVELS], { description: 'the level' }),
      width: Type.Number({ exclusiveMinimum: 0, maximum: 1e12, default: 10, description: 'bucket width for range and age_band' })
    },
    compile: (p, piType, ctx) => {
      const width = (p.width as number | undefined) ?? 10
      const fixed = (p.to as GeneralizeLevel | undefined) ?? defaultLevel(piType)
      const masker: MaskFn = (value) => {
        if (value === null || value === undefined) return null
        const to = fixed ?? levelFor(value)
        return to === null ? null : generalize(value, to, width, ctx.today)
      }
      if (fixed === 'year') {
        masker.onString = (s) => {
          const year = dateYear(s)
          return year < 0 ? null : yearText(year)
        }
      } else if (fixed === 'province' || fixed === 'city' || fixed === 'district') {
        // a prefix of the address, found without slicing it, one copy per place
        const place = pieceMemo((prefix) => prefix)
        masker.onString = (s) => {
          const ends = addressEnds(s, fixed === 'district')
          if (ends < 0) return null
          const end = addressLevelEnd(s, ends, fixed)
          return end < 0 ? generalize(s, fixed, width, ctx.today) : place.get(s, 0, end)
        }
      } else if (fixed === 'age_band') {
        // every row born on one day is in one band: a date's band is worked out once
        const intern = interner()
        const band = (s: string) => {
          const out = generalize(s, fixed, width, ctx.today)
          return out === null ? null : intern(out)
        }
        const byDay = new Map<number, string | null>()
        masker.onString = (s) => {
          const day = isoDay(s)
          if (day < 0) return band(s)
          let out = byDay.get(day)
          if (out === undefined) {
            out = band(s)
            if (byDay.size >= 4096) byDay.clear()
            byDay.set(day, out)
          }
          return out
        }
      } else if (fixed !== null) {
        const intern = interner() // a bucket, a province, a city: few outputs, many rows
        masker.onString = (s) => {
          const out = generalize(s, fixed, width, ctx.today)
          return out === null ? null : intern(out)
        }
      }
      return masker
    }
  },
  truncate: {
    name: 'truncate',
    valueOnly: true,
    description: 'Keeps only the first (or last) `length` characters (code points).',
    reversible: false,
    deterministic: true,
    params: {
      length: Type.Integer({ minimum: 0, maximum: 10000, default: 1, description: 'characters kept' }),
      from: Type.Enum(['start', 'end'], { default: 'start', description: 'which end is kept' })
    },
    compile: (p) => {
      const n = (p.length as number | undefined) ?? 1
      return text(p.from === 'end' ? (s) => takeLast(s, n) : (s) => takeFirst(s, n))
    }
  },
  noise: {
    name: 'noise',
    description: 'Adds bounded noise to a number: at most `amplitude` (absolute) or `ratio` × |value|. The noise is keyed by the ' +
      'value within the scope, so repeating a query does not average it away. Non-numbers become null.',
    reversible: false,
    deterministic: true,
    params: {
      amplitude: Type.Number({ exclusiveMinimum: 0, maximum: 1e12, description: 'largest absolute change' }),
      ratio: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'largest relative change (default 0.05)' }),
      decimals: Type.Integer({ minimum: 0, maximum: 6, description: 'decimals of the result (default: 0 for whole numbers, else 2)' })
    },
    compile: (p, _piType, ctx) => {
      const key = ctx.key.derive('noise', ctx.scope)
      const amplitude = p.amplitude as number | undefined
      const ratio = (p.ratio as number | undefined) ?? 0.05
      return (value) => {
        const n = numberOf(value)
        if (n === null) return null
        const unit = createHmac('sha256', key).update(String(n)).digest().readUInt32BE(0) / 0xffffffff * 2 - 1
        const bound = amplitude ?? Math.abs(n) * ratio
        const decimals = (p.decimals as number | undefined) ?? (Number.isInteger(n) ? 0 : 2)
        const noisy = Number((n + unit * bound).toFixed(decimals))
        // rounding may step past the bound by less than one unit of the last decimal: pull it back
        return Math.abs(noisy - n) > bound ? Number((n + Math.sign(noisy - n) * bound).toFixed(decimals)) : noisy
      }
    }
  },
  tokenize: {
    name: 'tokenize',
    description: 'Replaces the value with a token (AES-256-GCM or SM4) that only the office can turn back into the value, through ' +
      '`POST /api/v1/masking/detokenize` with the scope. Equal values give equal tokens within a scope.',
    reversible: true,
    deterministic: true,
    params: { algorithm: Type.Enum(['aes', 'sm4'], { default: 'aes', description: 'cipher' }) },
    compile: (p, _piType, ctx) => {
      const algorithm = (p.algorithm as TokenAlgorithm | undefined) ?? 'aes'
      return (value) => {
        const s = canonicalText(value)
        return s === null ? null : tokenize(ctx.key, ctx.scope, algorithm, s)
      }
    }
  },
  surrogate: {
    name: 'surrogate',
    description: 'Replaces the value with a realistic, format-valid fake, the same one for the same value within a scope: ID ' +
      'numbers with a real region, a plausible birth date and a correct GB 11643 check digit, Chinese names, mobile numbers, ' +
      'e-mails, Luhn-valid bank cards; other values keep their shape (a digit for a digit, a letter for a letter).',
    reversible: false,
    deterministic: true,
    params: {},
    compile: (_p, piType, ctx) => {
      const key = ctx.key.derive('surrogate', ctx.scope)
      return text((s) => surrogate(key, piType, normalised(piType, s)))
    }
  }
}

export const STRATEGY_NAMES = Object.keys(STRATEGIES)
