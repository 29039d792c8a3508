import { createHmac } from 'node:crypto'
import type { StoredField } from '../../db/database.js'

/**
 * Decoy rows: a few synthetic rows per export, made from the export's own data (each value taken
 * from another real row, identifiers, text and numbers perturbed) and masked like the real ones, so
 * they look like any other row. Their cells are stored as keyed digests; a leaked file holding one
 * names its export even when every invisible mark was stripped.
 */

/** Below this, an export gets no decoys: a fragment must hold 100 rows to be traced anyway. */
export const DECOY_MIN_ROWS = 100
export const DECOY_MIN = 3

export function decoyCount (rows: number, every: number): number {
  if (every <= 0 || rows < DECOY_MIN_ROWS) return 0
  return Math.max(DECOY_MIN, Math.round(rows / every))
}

/** A deterministic stream of integers from a key and a label. */
export function keyedRandom (key: Buffer, label: string) {
  let counter = 0
  let block = Buffer.alloc(0)
  let offset = 0
  return {
    /** an integer in [0, n) */
    int (n: number): number {
      if (offset + 4 > block.length) {
        block = createHmac('sha256', key).update(`${label}\u0000${counter++}`).digest()
        offset = 0
      }
      const v = block.readUInt32BE(offset)
      offset += 4
      return v % n
    }
  }
}

/** After which real rows (1-based, ascending) the decoys go. */
export function decoyPositions (key: Buffer, count: number, rows: number): number[] {
  const random = keyedRandom(key, 'decoy-positions')
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(1 + random.int(rows))
  return out.sort((a, b) => a - b)
}

type Row = Record<string, unknown>
const DIGIT = /[0-9]/
const LOWER = /[a-z]/
const UPPER = /[A-Z]/
const CJK = /[\u4e00-\u9fff]/

/** The same shape with other characters: the first kept, digits, letters and CJK redrawn from the 40% mark on, an e-mail domain kept. */
function perturb (text: string, random: ReturnType<typeof keyedRandom>, cjkPool: string[]): string {
  const chars = [...text]
  const from = Math.max(1, Math.floor(chars.length * 0.4))
  const at = chars.indexOf('@')
  const until = at >= 0 ? at : chars.length
  for (let i = from; i < until; i++) {
    const c = chars[i]!
    if (DIGIT.test(c)) chars[i] = String(random.int(10))
    else if (LOWER.test(c)) chars[i] = String.fromCharCode(97 + random.int(26))
    else if (UPPER.test(c)) chars[i] = String.fromCharCode(65 + random.int(26))
    else if (CJK.test(c) && cjkPool.length > 0) chars[i] = cjkPool[random.int(cjkPool.length)]!
  }
  return chars.join('')
}

const decimalsOf = (n: number) => {
  const s = String(n)
  const dot = s.indexOf('.')
  return dot < 0 || s.includes('e') ? 0 : s.length - dot - 1
}

/** What decoys are made from: the stored fields of the export and a sample of its real rows (unmasked). */
export interface DecoySource {
  fields: readonly StoredField[]
  /** the primary key and person key: never equal to a sampled row's */
  keyFields: ReadonlySet<string>
  sample: readonly Row[]
}

/**
 * A maker of the unmasked decoy rows of an export, deterministic from its key and sample: every
 * value comes from a randomly chosen real row; text is perturbed (its shape kept), numbers redrawn
 * within the sample's range, code-table values, booleans and dates kept as chosen.
 */
export function decoyMaker (key: Buffer, { fields, keyFields, sample }: DecoySource): (ordinal: number) => Row {
  const prepared = fields.map((f) => ({
    f,
    pool: f.type === 'string' ? cjkOf(sample, f.name) : [],
    range: f.type === 'integer' || f.type === 'number' ? rangeOf(sample, f.name) : null,
    taken: keyFields.has(f.name) ? new Set(sample.map((r) => r[f.name])) : null
  }))
  return (ordinal) => {
    const random = keyedRandom(key, `decoy\u0000${ordinal}`)
    const row: Row = {}
    for (const { f, pool, range, taken } of prepared) {
      const value = sample[random.int(sample.length)]![f.name]
      if (value === null || value === undefined || f.enum) {
        row[f.name] = value ?? null
      } else if (range && typeof value === 'number') {
        row[f.name] = redraw(value, f.type === 'integer', range, random)
      } else if (f.type === 'string' && typeof value === 'string') {
        let text = perturb(value, random, pool)
        for (let tries = 0; taken?.has(text) && tries < 8; tries++) text = perturb(value, random, pool)
        row[f.name] = text
      } else {
        row[f.name] = value
      }
    }
    return row
  }
}

function rangeOf (sample: readonly Row[], name: string): [number, number] | null {
  let min = Infinity
  let max = -Infinity
  for (const r of sample) {
    const v = r[name]
    if (typeof v === 'number') { if (v < min) min = v; if (v > max) max = v }
  }
  return max > min ? [min, max] : null
}

function redraw (value: number, integer: boolean, [min, max]: [number, number], random: ReturnType<typeof keyedRandom>): number {
  const x = min + (random.int(1_000_001) / 1_000_000) * (max - min)
  if (integer) return Math.round(x)
  const scale = 10 ** Math.min(6, decimalsOf(value))
  return Math.round(x * scale) / scale
}

function cjkOf (sample: readonly Row[], name: string): string[] {
  const pool = new Set<string>()
  for (const r of sample) {
    const v = r[name]
    if (typeof v === 'string') for (const c of v) if (CJK.test(c)) pool.add(c)
    if (pool.size >= 500) break
  }
  return [...pool]
}

/**
 * The digest of a decoy's cell: one platform-wide key, so that a leaked file is digested once and
 * compared with every candidate export's decoys.
 */
export function cellDigest (key: Buffer, column: string, text: string): string {
  return createHmac('sha256', key).update(column).update('\u0000').update(text, 'utf8').digest('base64url').slice(0, 16)
}

/**
 * How many values a column can take, estimated from a sample of its (masked) cells by the birthday
 * paradox: s cells drawn from M equally likely values hold about s(s−1)/2M equal pairs. A hashed
 * identifier (no equal pairs in thousands) comes out in the millions, a three-value code at 3.
 */
export function valueSpace (counts: ReadonlyMap<string, number>): number {
  let s = 0
  let pairs = 0
  for (const n of counts.values()) { s += n; pairs += n * (n - 1) / 2 }
  return Math.max(counts.size, 1, s * (s - 1) / (2 * (pairs + 1)))
}

/**
 * The chance that a row not from the export holds a decoy's value in a column: the share of the
 * export's real rows holding it, or, when none does (the value is synthetic), one over the
 * column's estimated number of values.
 */
export function coincidence (rowsHolding: number, rows: number, space: number): number {
  return Math.min(1, Math.max(rows > 0 ? rowsHolding / rows : 1, 1 / space))
}

/**
 * Counts, for each decoy and column, the real rows holding the decoy's value in that column: how
 * likely a real row is to coincide with a decoy on a column, so that a decoy found in a leak is
 * weighed by how distinctive it is.
 */
export function createDecoyTally (fields: readonly string[], decoys: readonly (readonly string[])[]) {
  const index = fields.map((_, c) => {
    const byText = new Map<string, number[]>()
    decoys.forEach((texts, d) => {
      const list = byText.get(texts[c]!)
      if (list) list.push(d); else byText.set(texts[c]!, [d])
    })
    return byText
  })
  const counts = decoys.map(() => fields.map(() => 0))
  return {
    /** a real row's cell texts, in the order of `fields` */
    add (texts: readonly string[]) {
      for (let c = 0; c < texts.length; c++) {
        const hit = index[c]!.get(texts[c]!)
        if (hit) for (const d of hit) counts[d]![c]!++
      }
    },
    counts
  }
}
