import { createHmac } from 'node:crypto'
import { idNumberCheckCharacter } from '../platform/id-number.js'
import { isEmail, luhnCheckDigit, SURNAMES } from './formats.js'
import { codePoints } from './text.js'

/**
 * Realistic, format-valid fakes, deterministic per key: the same value gives the same fake within a
 * scope, so fakes still join, but nothing of the original survives beyond its shape.
 */

/** Real county-level region codes (GB/T 2260) spread over the country. */
const REGIONS = ['110101', '110108', '120101', '130102', '140105', '210102', '220102', '230103', '310104', '320102', '330106',
  '340104', '350102', '360102', '370102', '410105', '420111', '430104', '440106', '450103', '500103', '510107', '520102',
  '530102', '610113', '620102', '650102']
const GIVEN = [...'伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉玲婷雪琳晨宇浩然子涵欣怡梓轩思远嘉豪俊博一诺雨萱佳琪']
const MOBILE_PREFIXES = ['134', '135', '136', '137', '138', '139', '150', '151', '152', '157', '158', '159', '182', '187', '188',
  '130', '131', '132', '155', '156', '185', '186', '133', '153', '177', '180', '181', '189', '199']

/** A stream of pseudo-random integers seeded by HMAC(key, value). */
function stream (key: Buffer, text: string) {
  let block = createHmac('sha256', key).update(text).digest()
  let at = 0
  let counter = 0
  const byte = () => {
    if (at === block.length) {
      block = createHmac('sha256', key).update(`${counter++}\u0000${text}`).digest()
      at = 0
    }
    return block[at++]!
  }
  return {
    /** uniform enough in [0, n) for n ≤ 65536 */
    int: (n: number) => ((byte() << 8) | byte()) % n,
    digits: (count: number) => Array.from({ length: count }, () => String(byte() % 10)).join('')
  }
}

function idNumber (r: ReturnType<typeof stream>): string {
  const region = REGIONS[r.int(REGIONS.length)]!
  // a birth date between 1960-01-01 and 2009-12-28, so that every fake is an adult's or a student's
  const birth = new Date(Date.UTC(1960, 0, 1) + r.int(18240) * 86_400_000)
  const date = birth.toISOString().slice(0, 10).replace(/-/g, '')
  const first17 = region + date + String(r.int(1000)).padStart(3, '0')
  return first17 + idNumberCheckCharacter(first17)
}

function name (r: ReturnType<typeof stream>): string {
  const given = r.int(3) === 0 ? 1 : 2
  let out = SURNAMES[r.int(60)]! // the 60 commonest surnames look least contrived
  for (let i = 0; i < given; i++) out += GIVEN[r.int(GIVEN.length)]!
  return out
}

function bankCard (r: ReturnType<typeof stream>): string {
  const partial = '622202' + r.digits(12)
  return partial + luhnCheckDigit(partial)
}

/** Keeps the shape: a digit for a digit, a letter for a letter of the same case, a Han character for one. */
function shaped (r: ReturnType<typeof stream>, text: string): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz'
  return codePoints(text).map((ch) => {
    if (ch >= '0' && ch <= '9') return String(r.int(10))
    if (ch >= 'a' && ch <= 'z') return letters[r.int(26)]!
    if (ch >= 'A' && ch <= 'Z') return letters[r.int(26)]!.toUpperCase()
    if (/[\u3400-\u9fff]/.test(ch)) return GIVEN[r.int(GIVEN.length)]!
    if (/[\s\-_.@/:]/.test(ch)) return ch
    return '*'
  }).join('')
}

export const SURROGATE_TYPES = ['id_number', 'name', 'phone', 'email', 'bank_card'] as const

export function surrogate (key: Buffer, piType: string | undefined, text: string): string {
  const r = stream(key, text)
  switch (piType) {
    case 'id_number': return idNumber(r)
    case 'name': return name(r)
    case 'phone': return MOBILE_PREFIXES[r.int(MOBILE_PREFIXES.length)]! + r.digits(8)
    case 'bank_card': return bankCard(r)
    case 'email': {
      const domain = isEmail(text) ? text.slice(text.lastIndexOf('@')) : '@example.edu.cn'
      return `user${r.digits(8)}${domain}`
    }
    default: return shaped(r, text)
  }
}
