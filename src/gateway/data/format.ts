import { Readable } from 'node:stream'
import type { AcceptedTypes } from '../../platform/formats.js'

export const DATA_FORMATS = ['json', 'csv', 'ndjson'] as const
export type DataFormat = typeof DATA_FORMATS[number]

export const CONTENT_TYPES: Record<DataFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8'
}

/** What the Accept header names to ask for CSV or NDJSON (JSON otherwise). */
export const DATA_ACCEPTED: AcceptedTypes<DataFormat> = [['csv', ['text/csv']], ['ndjson', ['ndjson', 'application/jsonl']]]

const NEEDS_QUOTES = /[",\r\n]/
/** A spreadsheet would run these as formulas (CSV injection): such text cells get a leading quote mark. */
const FORMULA = /^[=+\-@\t\r]/

/** One CSV cell (RFC 4180): text quoted when it must be, formula-like text defused, objects as JSON. */
export function csvCell (value: unknown): string {
  if (value === null || value === undefined) return ''
  let text: string
  if (typeof value === 'string') {
    text = FORMULA.test(value) ? `'${value}` : value
  } else if (typeof value === 'object') {
    text = JSON.stringify(value)
  } else {
    return String(value)
  }
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function csvLine (fields: readonly string[], row: Record<string, unknown>): string {
  let line = ''
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) line += ','
    line += csvCell(row[fields[i]!])
  }
  return `${line}\r\n`
}

export const csvHeader = (fields: readonly string[]) => `${fields.map(csvCell).join(',')}\r\n`

/** Rows per chunk of a streamed body. */
const CHUNK_ROWS = 200

/**
 * A CSV (with its header line) or NDJSON body, produced a chunk at a time as the socket takes it
 * rather than built whole.
 */
export function streamRows (format: 'csv' | 'ndjson', fields: readonly string[], rows: readonly Record<string, unknown>[]): Readable {
  let i = 0
  let headerSent = format !== 'csv'
  return new Readable({
    read () {
      let chunk = ''
      if (!headerSent) { chunk = csvHeader(fields); headerSent = true }
      const end = Math.min(rows.length, i + CHUNK_ROWS)
      for (; i < end; i++) chunk += format === 'csv' ? csvLine(fields, rows[i]!) : `${JSON.stringify(rows[i])}\n`
      if (chunk) this.push(chunk)
      if (i >= rows.length) this.push(null)
    }
  })
}
