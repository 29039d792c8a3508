import { FieldError } from './errors.js'

/**
 * Keyset cursors: the sort key of the last row of a page, as opaque base64url JSON. Opaque to
 * callers, but never trusted: a cursor that does not decode to the expected shape is a 400.
 */
export function encodeCursor (key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

const notIssued = () => new FieldError('cursor', 'is not a cursor this list issued')

export function decodeCursor (cursor: string, arity: number): (string | number)[] {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(key) && key.length === arity && key.every((k) => typeof k === 'string' || typeof k === 'number')) return key
  } catch {}
  throw notIssued()
}

/**
 * What a list's cursor holds: how many parts its key has, and the key as the repository takes it
 * (`undefined` when the parts are not what this list issues).
 */
export interface CursorKey<K> {
  readonly arity: number
  parse (parts: (string | number)[]): K | undefined
}

/** One part, as text (codes, names, seqs read by a repository that checks nothing more). */
export const TEXT_KEY: CursorKey<string> = { arity: 1, parse: ([part]) => String(part) }
/** A bigint (a seq, an id): up to 19 digits. */
export const SEQ_KEY: CursorKey<string> = { arity: 1, parse: ([part]) => digitsOf(String(part), /^[0-9]{1,19}$/) }
/** A bigint seq that starts at 1: up to 19 digits, no leading zero. */
export const POSITIVE_SEQ_KEY: CursorKey<string> = { arity: 1, parse: ([part]) => digitsOf(String(part), /^[1-9][0-9]{0,18}$/) }
/** A version number, issued as a JSON number and taken only as one. */
export const NUMBER_KEY: CursorKey<number> = { arity: 1, parse: ([part]) => typeof part === 'number' ? part : undefined }
/** A whole number, as a JSON number or text that reads as one (`Number`). */
export const INTEGER_KEY: CursorKey<number> = { arity: 1, parse: ([part]) => { const n = Number(part); return Number.isInteger(n) ? n : undefined } }

function digitsOf (text: string, pattern: RegExp): string | undefined {
  return pattern.test(text) ? text : undefined
}

/** The key a query's cursor holds, if it has one; a cursor this list did not issue is a 400 naming `cursor`. */
export function readCursor<K> (cursor: string | undefined, key: CursorKey<K>): K | undefined {
  if (cursor === undefined) return undefined
  const parsed = key.parse(decodeCursor(cursor, key.arity))
  if (parsed === undefined) throw notIssued()
  return parsed
}

/** A list route's answer before its rows are turned into views. */
export interface Page<R> {
  page: R[]
  nextCursor: string | null
}

/** Splits a fetched `limit + 1` rows into the page and the cursor of the next one. */
export function paginate<T> (rows: T[], limit: number, keyOf: (row: T) => (string | number)[]): Page<T> {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return { page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null }
}

/** Fetches one row more than the page holds (`rowsOf` is given `limit + 1`), to know whether another page follows. */
export async function fetchPage<R> (limit: number, rowsOf: (limit: number) => Promise<R[]>, keyOf: (row: R) => (string | number)[]): Promise<Page<R>> {
  return paginate(await rowsOf(limit + 1), limit, keyOf)
}

/** The repository's side of a page: the rows to fetch, and the key of the cursor under the name the repository gives it. */
export type PageArgs<K, N extends string> = { limit: number } & { [P in N]?: K }

export interface KeysetPage<R, K, N extends string> {
  /** what the cursor holds */
  key: CursorKey<K>
  /** the repository's name for it: `after`, `beforeSeq`, … */
  as: N
  fetch: (page: PageArgs<K, N>) => Promise<R[]>
  /** the sort key of a row, which the next page's cursor holds */
  keyOf: (row: R) => (string | number)[]
}

/**
 * One page of a keyset-paginated list: the query's cursor read first (a 400 before anything is
 * fetched), then `limit + 1` rows after its key (the key left out on the first page), split into
 * the page and the cursor of the next one.
 */
export async function keysetPage<R, K, N extends string> (query: { limit: number, cursor?: string | undefined }, list: KeysetPage<R, K, N>): Promise<Page<R>> {
  const key = readCursor(query.cursor, list.key)
  return await fetchPage(query.limit, async (limit) => await list.fetch({ limit, ...(key !== undefined ? { [list.as]: key } : {}) } as PageArgs<K, N>), list.keyOf)
}
