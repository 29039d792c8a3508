import { FieldError } from '../../platform/errors.js'
import { csvRecords, CsvError } from './csv.js'
import { splitMark } from './marks.js'

/** A suspected leak needs this many rows: fewer say too little for a confident answer. */
export const MIN_TRACE_ROWS = 100
/** Rows of a file that are looked at; a larger file is traced by its first ones. */
export const MAX_TRACE_ROWS = 200_000
/** Distinct marked (text, mark) pairs kept for scoring. */
export const MAX_MARK_PAIRS = 5000

/** A leaked file or fragment of one, as the trace reads it. */
export interface Fragment {
  columns: string[]
  rows: string[][]
  /** rows whose cell count differs from the header's, left out */
  skipped: number
  /** marked cells: text → mark → cells */
  marks: Map<string, Map<string, number>>
}

/** Reads the CSV of a suspected leak: a header line naming the columns, then rows. 400 naming `body` when it cannot be traced. */
export function readFragment (text: string): Fragment {
  const records = csvRecords(text)
  const rows: string[][] = []
  const marks = new Map<string, Map<string, number>>()
  let columns: string[] | null = null
  let skipped = 0
  let pairs = 0
  try {
    for (const record of records) {
      if (columns === null) {
        columns = record.map((c) => c.trim())
        const seen = new Set<string>()
        for (const c of columns) {
          if (c === '') throw new FieldError('body', 'the header line names an empty column; the first line must name the columns')
          if (seen.has(c)) throw new FieldError('body', `the header line names column ${c} twice`)
          seen.add(c)
        }
        continue
      }
      if (record.length !== columns.length) { skipped++; continue }
      rows.push(record)
      for (const cell of record) {
        const split = splitMark(cell)
        if (!split) continue
        let byMark = marks.get(split.text)
        if (!byMark) {
          if (pairs >= MAX_MARK_PAIRS) continue
          byMark = new Map()
          marks.set(split.text, byMark)
        }
        if (!byMark.has(split.mark)) {
          if (pairs >= MAX_MARK_PAIRS) continue
          pairs++
        }
        byMark.set(split.mark, (byMark.get(split.mark) ?? 0) + 1)
      }
      if (rows.length >= MAX_TRACE_ROWS) break
    }
  } catch (err) {
    if (err instanceof CsvError) throw new FieldError('body', `is not CSV: ${err.message}`)
    throw err
  }
  if (columns === null) throw new FieldError('body', 'is empty; send the suspected file as text/csv with its header line')
  if (rows.length < MIN_TRACE_ROWS) {
    throw new FieldError('body', `holds ${rows.length} data rows${skipped ? ` (and ${skipped} with the wrong number of cells)` : ''}; at least ${MIN_TRACE_ROWS} are needed to trace a file`)
  }
  return { columns, rows, skipped, marks }
}
