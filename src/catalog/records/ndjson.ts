import createError from '@fastify/error'

export const NDJSON = 'application/x-ndjson'

export const MalformedNdjsonError = createError<[number]>('MALFORMED_NDJSON',
  'line %d of the NDJSON body is not valid JSON: send one JSON object per line', 400)
export const BatchTooLargeError = createError<[number, number]>('CATALOG_BATCH_TOO_LARGE',
  'a batch holds at most %d records (got %d): split it into several requests', 413)

/**
 * NDJSON (one JSON value per line, `\n` or `\r\n`) to an array, so that it meets the same body
 * schema as a JSON array. Blank lines are skipped; the first record past `maxRows` is a 413, and
 * nothing after it is parsed.
 */
export function parseNdjson (text: string, maxRows: number): unknown[] {
  const rows: unknown[] = []
  let line = 0
  let start = text.charCodeAt(0) === 0xFEFF ? 1 : 0 // a byte-order mark some exporters write
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    line++
    const chunk = text.slice(start, end)
    start = end + 1
    if (chunk.trim() === '') continue
    if (rows.length === maxRows) throw new BatchTooLargeError(maxRows, countRecords(text, maxRows))
    try {
      rows.push(JSON.parse(chunk))
    } catch {
      throw new MalformedNdjsonError(line)
    }
  }
  return rows
}

/** How many records a too-large body holds, for the message (non-blank lines). */
function countRecords (text: string, atLeast: number): number {
  let n = 0
  for (const chunk of text.split('\n')) if (chunk.trim() !== '') n++
  return Math.max(n, atLeast + 1)
}
