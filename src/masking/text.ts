/**
 * Text helpers that count Unicode code points, not UTF-16 units: "𠀋" is one character to mask, and
 * a lone surrogate in hostile input is one character too (masked like any other, never split).
 */
const SURROGATE = /[\uD800-\uDFFF]/

/** Whether the text holds a surrogate (an astral character or a lone half): the only case where code points ≠ UTF-16 units. */
export function hasSurrogate (s: string): boolean {
  if (s.length > 32) return SURROGATE.test(s)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdfff) return true
  }
  return false
}

export function codePoints (s: string): string[] {
  return Array.from(s)
}

export function length (s: string): number {
  return hasSurrogate(s) ? Array.from(s).length : s.length
}

/** `char` written `n` times, the short runs made once per mask character. */
const RUNS = new Map<string, string[]>()
export function repeatChar (char: string, n: number): string {
  if (n > 64) return char.repeat(n)
  let runs = RUNS.get(char)
  if (runs === undefined) {
    if (RUNS.size >= 256) return char.repeat(n)
    runs = Array.from({ length: 65 }, (_, i) => char.repeat(i))
    RUNS.set(char, runs)
  }
  return runs[n]!
}

/**
 * One copy of each string it is given, for outputs that repeat by construction (张*, a city, a
 * domain behind z***): rows then share it instead of each holding its own, which is most of the cost
 * of a masked result set that lives until it is serialised. Bounded; forgets all when full.
 */
export function interner (limit = 4096): (s: string) => string {
  const seen = new Map<string, string>()
  return (s) => {
    const known = seen.get(s)
    if (known !== undefined) return known
    if (seen.size >= limit) seen.clear()
    seen.set(s, s)
    return s
  }
}

/**
 * Keeps the first `first` and last `last` characters and writes `char` for the others (or exactly
 * `fixed` of them). When little is left to hide, fewer are kept: at least a third is always masked.
 */
export function maskMiddle (s: string, first: number, last: number, char: string, fixed?: number): string {
  const chars = hasSurrogate(s) ? Array.from(s) : null
  const n = chars ? chars.length : s.length
  if (n === 0) return s
  const keptMax = n - Math.ceil(n / 3)
  if (first + last > keptMax) {
    first = Math.min(first, Math.ceil(keptMax / 2))
    last = Math.min(last, keptMax - first)
  }
  const hidden = fixed ?? (n - first - last)
  const head = first === 0 ? '' : chars ? chars.slice(0, first).join('') : s.slice(0, first)
  const tail = last === 0 ? '' : chars ? chars.slice(n - last).join('') : s.slice(n - last)
  return head + repeatChar(char, hidden) + tail
}

export function takeFirst (s: string, n: number): string {
  return hasSurrogate(s) ? Array.from(s).slice(0, n).join('') : s.slice(0, n)
}

export function takeLast (s: string, n: number): string {
  if (n === 0) return ''
  return hasSurrogate(s) ? Array.from(s).slice(-n).join('') : s.slice(-n)
}

/**
 * The text a string strategy works on: strings as they are, numbers, booleans and bigints written
 * out; null for null and for objects and arrays, which a string rule never lets through.
 */
export function textOf (value: unknown): string | null {
  switch (typeof value) {
    case 'string': return value
    case 'number': case 'boolean': case 'bigint': return String(value)
    default: return null
  }
}

/** Text for keyed transforms (hash, tokenize): objects count too, as their JSON. */
export function canonicalText (value: unknown): string | null {
  const text = textOf(value)
  if (text !== null || value === null || value === undefined) return text
  try {
    return JSON.stringify(value) ?? null
  } catch {
    return null
  }
}
