/**
 * Text helpers that count Unicode code points, not UTF-16 units: "𠀋" is one character to mask, and
 * a lone surrogate in hostile input is one character too (masked like any other, never split).
 */
const SURROGATE = /[\uD800-\uDFFF]/

/** Whether the text holds a surrogate (an astral character or a lone half): the only case where code points ≠ UTF-16 units. */
export function hasSurrogate (s: string): boolean {
  return SURROGATE.test(s) // the regex engine's scan: about four times a loop of charCodeAt on an 18-character value
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
  if (first === 0 && last === 0) return repeatChar(char, hidden)
  if (chars === null && char.length === 1 && first + hidden + last <= SHORT) {
    const splice = splicer(first, hidden, last)
    if (splice !== undefined) return splice(s, char.charCodeAt(0))
  }
  const head = first === 0 ? '' : chars ? chars.slice(0, first).join('') : s.slice(0, first)
  const tail = last === 0 ? '' : chars ? chars.slice(n - last).join('') : s.slice(n - last)
  return head + repeatChar(char, hidden) + tail
}

/** Results up to this many UTF-16 units are built by a splicer. */
const SHORT = 64
type Splice = (s: string, code: number) => string
const SPLICERS = new Map<number, Splice>()

/**
 * A function writing the first `first` units of a text, `hidden` times a mask character code and
 * the last `last` units, as one flat string in one allocation: `String.fromCharCode` called with
 * every code as an argument, the calls written out once per shape (an ID number's 6 + 8 + 4).
 * `head + run + tail` makes two slices and a rope of 13 or more units, which JSON.stringify then
 * copies again to flatten. For text without surrogates, where units are characters. At most 1,024
 * shapes; undefined beyond.
 */
function splicer (first: number, hidden: number, last: number): Splice | undefined {
  const shape = (first * (SHORT + 1) + hidden) * (SHORT + 1) + last
  let splice = SPLICERS.get(shape)
  if (splice === undefined && SPLICERS.size < 1024) {
    const codes: string[] = []
    for (let i = 0; i < first; i++) codes.push(`s.charCodeAt(${i})`)
    for (let i = 0; i < hidden; i++) codes.push('c')
    for (let i = last; i > 0; i--) codes.push(`s.charCodeAt(n - ${i})`)
    // eslint-disable-next-line no-new-func -- the body holds integers only
    splice = new Function('s', 'c', `const n = s.length\nreturn String.fromCharCode(${codes.join(', ')})`) as Splice
    SPLICERS.set(shape, splice)
  }
  return splice
}

/** Whether `piece` (of length end - start) is the text of `s` from `start`: native comparisons, the faster forms where a position is not needed. */
function sameAt (s: string, start: number, end: number, piece: string): boolean {
  if (start === 0) return s.startsWith(piece)
  if (end === s.length) return s.endsWith(piece)
  return s.startsWith(piece, start)
}

/**
 * `s.slice(start, end)` as a string of its own when `s` is long: a slice of 13 units or more is a
 * view that keeps the whole text alive, which a memo must not do for a hostile value of megabytes.
 */
const pieceOf = (s: string, start: number, end: number): string =>
  s.length > 256 && end - start >= 13 ? Array.from(s.slice(start, end)).join('') : s.slice(start, end)

/** Values made from pieces of text, found without slicing the text. */
export interface PieceMemo<T> {
  /** the value made from `s.slice(start, end)`, if it was made */
  find (s: string, start: number, end: number): T | undefined
  /** the value made from `s.slice(start, end)`, made now if it was not */
  get (s: string, start: number, end: number): T
}

/**
 * Memoises `make` over pieces of text (a city, a domain: few pieces, many rows). A hash of the piece
 * finds the entry, a comparison confirms it; a collision replaces the entry. Bounded; forgets all
 * when full.
 */
export function pieceMemo<T> (make: (piece: string) => T, limit = 4096): PieceMemo<T> {
  const seen = new Map<number, { piece: string, value: T }>()
  const hash = (s: string, start: number, end: number) => {
    let h = end - start
    for (let i = start; i < end; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0
    return h & 0x3fffffff // a small integer: no boxing as a key
  }
  const find = (s: string, start: number, end: number, h: number) => {
    const known = seen.get(h)
    return known !== undefined && known.piece.length === end - start && sameAt(s, start, end, known.piece) ? known.value : undefined
  }
  return {
    find: (s, start, end) => find(s, start, end, hash(s, start, end)),
    get: (s, start, end) => {
      const h = hash(s, start, end)
      const known = find(s, start, end, h)
      if (known !== undefined) return known
      const piece = pieceOf(s, start, end)
      const value = make(piece)
      if (seen.size >= limit) seen.clear()
      seen.set(h, { piece, value })
      return value
    }
  }
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
