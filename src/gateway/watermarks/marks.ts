import { createHmac } from 'node:crypto'

/**
 * Invisible marks: four zero-width characters appended to a text cell, 8 bits of
 * HMAC(export key, cell text). They survive re-ordering, column subsets and renamed headers (the
 * mark depends on the text alone), are checked cell by cell, and strip to the cell as masked.
 * Neither a CSV reader nor a spreadsheet sees them; a leaker who knows of them can strip them,
 * which is why exports carry decoy rows too.
 */
export const MARK_ALPHABET = ['\u200B', '\u200C', '\u200D', '\u2060'] as const
export const MARK_LENGTH = 4
/** the chance that a cell carries a given export's mark by accident */
export const MARK_CHANCE = 1 / 4 ** MARK_LENGTH

const IN_ALPHABET = new Set<string>(MARK_ALPHABET)

/** The mark of a cell's text under an export key. */
export function markOf (key: Buffer, text: string): string {
  const b = createHmac('sha256', key).update('mark\u0000').update(text, 'utf8').digest()[0]!
  return MARK_ALPHABET[b >> 6]! + MARK_ALPHABET[(b >> 4) & 3]! + MARK_ALPHABET[(b >> 2) & 3]! + MARK_ALPHABET[b & 3]!
}

/** markOf with a bounded memo: masked columns repeat their values (张*, 138****0001 is rarer). */
export function createMarker (key: Buffer, size = 20_000): (text: string) => string {
  const memo = new Map<string, string>()
  return (text) => {
    let mark = memo.get(text)
    if (mark === undefined) {
      if (memo.size >= size) memo.clear()
      mark = markOf(key, text)
      memo.set(text, mark)
    }
    return mark
  }
}

/** A cell's text and its mark, or null when the cell carries none. */
export function splitMark (cell: string): { text: string, mark: string } | null {
  const n = cell.length
  if (n <= MARK_LENGTH) return null
  for (let i = n - MARK_LENGTH; i < n; i++) if (!IN_ALPHABET.has(cell[i]!)) return null
  return { text: cell.slice(0, n - MARK_LENGTH), mark: cell.slice(n - MARK_LENGTH) }
}

/** The cell without its mark. */
export const stripMark = (cell: string): string => splitMark(cell)?.text ?? cell
