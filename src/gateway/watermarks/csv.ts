/** A CSV document that cannot be read, and where. */
export class CsvError extends Error {
  constructor (readonly record: number, message: string) {
    super(`record ${record}: ${message}`)
    this.name = 'CsvError'
  }
}

/**
 * The records of an RFC 4180 document (CRLF or LF line ends, a leading BOM ignored), one at a time,
 * so that a large file is read without holding its parsed form. Lenient where files found in the
 * wild are: a quote inside an unquoted field is taken as it is; blank lines are skipped.
 */
export function * csvRecords (text: string): Generator<string[]> {
  const n = text.length
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  let index = 0
  while (i < n) {
    index++
    const record: string[] = []
    for (;;) {
      let field: string
      if (text.charCodeAt(i) === 34) {
        field = ''
        i++
        for (;;) {
          const q = text.indexOf('"', i)
          if (q < 0) throw new CsvError(index, 'a quoted field is not closed')
          field += text.slice(i, q)
          if (text.charCodeAt(q + 1) === 34) { field += '"'; i = q + 2; continue }
          i = q + 1
          break
        }
        const c = text.charCodeAt(i)
        if (i < n && c !== 44 && c !== 13 && c !== 10) throw new CsvError(index, 'text follows a closing quote')
      } else {
        let j = i
        for (; j < n; j++) {
          const c = text.charCodeAt(j)
          if (c === 44 || c === 13 || c === 10) break
        }
        field = text.slice(i, j)
        i = j
      }
      record.push(field)
      if (text.charCodeAt(i) === 44) { i++; continue }
      break
    }
    if (text.charCodeAt(i) === 13) i++
    if (text.charCodeAt(i) === 10) i++
    if (record.length === 1 && record[0] === '') continue
    yield record
  }
}
