import { FieldError } from './errors.js'

/**
 * Keyset cursors: the sort key of the last row of a page, as opaque base64url JSON. Opaque to
 * callers, but never trusted: a cursor that does not decode to the expected shape is a 400.
 */
export function encodeCursor (key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

export function decodeCursor (cursor: string, arity: number): (string | number)[] {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(key) && key.length === arity && key.every((k) => typeof k === 'string' || typeof k === 'number')) return key
  } catch {}
  throw new FieldError('cursor', 'is not a cursor this list issued')
}

/** Splits a fetched `limit + 1` rows into the page and the cursor of the next one. */
export function paginate<T> (rows: T[], limit: number, keyOf: (row: T) => (string | number)[]) {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return { page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null }
}
