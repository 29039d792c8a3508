import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { sql, type Kysely } from 'kysely'
import { MAX_ROW_CHARS } from './dump.js'
import { BackupError, type OpenedBackup } from './format.js'
import type { TableInfo } from './schema.js'

/** rows per INSERT, and the JSON text one INSERT may carry */
const BATCH_ROWS = 500
const BATCH_CHARS = 4 * 1024 * 1024

type Line = { t: 'table', name: string, columns: string[] } | { t: 'end', name: string, rows: number } |
  { t: 'sequence', name: string, value: string, called: boolean } | { t: 'done' }

/**
 * Inserts the dump of an opened backup into the tables of `trx` (the target's own catalog says
 * what each column's type is; the backup only names them), then sets the sequences. Every table of
 * the target must be in the backup, in an order that respects references, with the same columns.
 */
export async function loadDump (trx: Kysely<any>, backup: OpenedBackup, tables: TableInfo[], sequences: string[]): Promise<Record<string, number>> {
  const byName = new Map(tables.map((t) => [t.name, t]))
  const loaded: Record<string, number> = {}
  const mismatch = (what: string) => new BackupError('BACKUP_SCHEMA_MISMATCH', `${backup.file} does not fit this database's schema: ${what}`)
  let table: TableInfo | null = null
  let columns: string[] = []
  let batch: string[] = []
  let batchChars = 0
  let rows = 0
  let done = false

  const flush = async () => {
    if (!table || batch.length === 0) return
    const types = new Map(table.columns.map((c) => [c.name, c.type]))
    // one parameter: a JSON array of rows, each value cast from its text form to the column's type
    await sql`insert into ${sql.id(table.name)} (${sql.join(columns.map((c) => sql.id(c)))})
              ${table.identityAlways ? sql`overriding system value` : sql``}
              select ${sql.join(columns.map((c, i) => sql`(r ->> ${sql.lit(i)})::${sql.raw(types.get(c)!)}`))}
                from json_array_elements(${`[${batch.join(',')}]`}::json) as r`.execute(trx)
    batch = []
    batchChars = 0
  }

  const onRecord = async (line: Line) => {
    if (done) throw damaged(backup.file)
    if (line.t === 'table') {
      if (table) throw damaged(backup.file)
      const target = byName.get(line.name)
      if (!target) throw mismatch(`it holds table ${line.name}, which the database lacks`)
      if (line.name in loaded) throw damaged(backup.file)
      const missing = target.references.filter((r) => byName.has(r) && !(r in loaded))
      if (missing.length > 0) throw mismatch(`table ${line.name} comes before ${missing.join(', ')}, which it references`)
      const own = target.columns.map((c) => c.name).sort()
      if (JSON.stringify([...line.columns].sort()) !== JSON.stringify(own)) throw mismatch(`the columns of ${line.name} differ`)
      table = target
      columns = line.columns
      rows = 0
    } else if (line.t === 'end') {
      if (!table || line.name !== table.name || line.rows !== rows) throw damaged(backup.file)
      await flush()
      loaded[table.name] = rows
      table = null
    } else if (line.t === 'sequence') {
      if (table) throw damaged(backup.file)
      if (!sequences.includes(line.name)) throw mismatch(`it holds sequence ${line.name}, which the database lacks`)
      await sql`select setval(to_regclass(quote_ident(${line.name})), ${line.value}::bigint, ${line.called})`.execute(trx)
    } else {
      if (table) throw damaged(backup.file)
      const absent = tables.filter((t) => !(t.name in loaded)).map((t) => t.name)
      if (absent.length > 0) throw mismatch(`it lacks table(s) ${absent.join(', ')}`)
      done = true
    }
  }

  const onRow = async (text: string) => {
    if (!table || done) throw damaged(backup.file)
    let values: unknown
    try {
      values = JSON.parse(text)
    } catch {
      throw damaged(backup.file)
    }
    if (!Array.isArray(values) || values.length !== columns.length || !values.every((v) => v === null || typeof v === 'string')) throw damaged(backup.file)
    batch.push(text)
    batchChars += text.length
    rows++
    if (batch.length >= BATCH_ROWS || batchChars >= BATCH_CHARS) await flush()
  }

  // the consumer's own error, not the abort it causes upstream, is the one to report
  let failure: unknown
  try {
    await pipeline(Readable.from(backup.frames()), createGunzip(), async (input: AsyncIterable<Buffer>) => {
      try {
        for await (const text of lines(input, backup.file)) {
          if (text.startsWith('[')) await onRow(text)
          else await onRecord(parseRecord(text, backup.file))
        }
      } catch (err) {
        failure = err
        throw err
      }
    })
  } catch (err) {
    throw failure ?? err
  }
  if (!done) throw damaged(backup.file)
  return loaded
}

const damaged = (file: string) => new BackupError('BACKUP_DAMAGED', `${file} is damaged: its content is not a Datagate dump`)

function parseRecord (text: string, file: string): Line {
  let line: unknown
  try {
    line = JSON.parse(text)
  } catch {
    throw damaged(file)
  }
  const l = line as Record<string, unknown>
  const ok = typeof l === 'object' && l !== null && (
    (l.t === 'table' && typeof l.name === 'string' && Array.isArray(l.columns) && l.columns.every((c) => typeof c === 'string')) ||
    (l.t === 'end' && typeof l.name === 'string' && Number.isInteger(l.rows)) ||
    (l.t === 'sequence' && typeof l.name === 'string' && typeof l.value === 'string' && /^-?\d{1,20}$/.test(l.value) && typeof l.called === 'boolean') ||
    l.t === 'done')
  if (!ok) throw damaged(file)
  return l as Line
}

/** The lines of a UTF-8 stream, each at most MAX_ROW_CHARS (a dump holds no longer one). */
async function * lines (input: AsyncIterable<Buffer>, file: string): AsyncGenerator<string> {
  let pending: Buffer[] = []
  let pendingBytes = 0
  for await (const chunk of input) {
    let start = 0
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, nl))
      yield Buffer.concat(pending).toString('utf8')
      pending = []
      pendingBytes = 0
      start = nl + 1
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start))
      pendingBytes += chunk.length - start
      if (pendingBytes > 4 * MAX_ROW_CHARS) throw damaged(file)
    }
  }
  if (pendingBytes > 0) throw damaged(file)
}
