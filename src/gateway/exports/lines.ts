import { csvCell } from '../data/format.js'

/**
 * A value as a CSV reader gives it back: text defused and quoted by format.ts (so that an export
 * and a read agree on what a cell is), then unquoted.
 */
export function cellText (value: unknown): string {
  return unquote(csvCell(value))
}

const unquote = (cell: string) => cell.charCodeAt(0) === 34 ? cell.slice(1, -1).replaceAll('""', '"') : cell

/**
 * Writes the lines of one export: each cell as format.ts writes it, and the cells of markable
 * columns with their invisible mark appended to the text. The mark goes after the text, so the
 * first character (what makes a spreadsheet run a formula) is never one of ours, and the quoting
 * rules see the marked text whole: the file stays RFC 4180.
 */
export function createLineWriter (fields: readonly string[], markable: ReadonlySet<string>, mark: (text: string) => string) {
  const marked = fields.map((f) => markable.has(f))
  const texts = new Array<string>(fields.length)
  return {
    /** the CSV line of a masked row; `texts` then holds its cells' unmarked texts */
    line (row: Record<string, unknown>): string {
      let line = ''
      for (let i = 0; i < fields.length; i++) {
        const value = row[fields[i]!]
        const cell = csvCell(value)
        const text = unquote(cell)
        texts[i] = text
        if (i > 0) line += ','
        line += marked[i] && typeof value === 'string' && text !== '' ? csvCell(text + mark(text)) : cell
      }
      return line + '\r\n'
    },
    texts: texts as readonly string[]
  }
}
