// Keyset pages (src/platform/pagination.ts), which every list route shares: the cursor read (and
// refused) by the key of its list, and one row more than the page fetched.
import t from 'tap'
import { FieldError } from '../../src/platform/errors.js'
import {
  encodeCursor, fetchPage, INTEGER_KEY, keysetPage, NUMBER_KEY, POSITIVE_SEQ_KEY, readCursor, SEQ_KEY, TEXT_KEY
} from '../../src/platform/pagination.js'

const notIssued = { name: 'FieldError', field: 'cursor', message: 'cursor: is not a cursor this list issued', statusCode: 400 }
const raw = (text: string) => Buffer.from(text).toString('base64url')

t.test('readCursor: no cursor is no key; a cursor is read by the key of its list', async (t) => {
  t.equal(readCursor(undefined, TEXT_KEY), undefined)
  t.equal(readCursor(encodeCursor(['cs']), TEXT_KEY), 'cs')
  t.equal(readCursor(encodeCursor([42]), TEXT_KEY), '42', 'text keys take a number as its digits')
  t.equal(readCursor(encodeCursor(['42']), SEQ_KEY), '42')
  t.equal(readCursor(encodeCursor(['0']), SEQ_KEY), '0')
  t.equal(readCursor(encodeCursor(['7']), POSITIVE_SEQ_KEY), '7')
  t.equal(readCursor(encodeCursor([3]), NUMBER_KEY), 3)
  t.equal(readCursor(encodeCursor(['3']), INTEGER_KEY), 3, 'an integer key takes digits too')
})

t.test('readCursor: anything this list did not issue is the same 400 naming cursor', async (t) => {
  const refused: [string, Parameters<typeof readCursor>[1]][] = [
    ['not base64url JSON', TEXT_KEY],
    [raw('{"a":1}'), TEXT_KEY],
    [raw('[]'), TEXT_KEY],
    [encodeCursor(['a', 'b']), TEXT_KEY],
    [raw('[null]'), TEXT_KEY],
    [encodeCursor(['12a']), SEQ_KEY],
    [encodeCursor(['1'.repeat(20)]), SEQ_KEY],
    [encodeCursor(['0']), POSITIVE_SEQ_KEY],
    [encodeCursor(['01']), POSITIVE_SEQ_KEY],
    [encodeCursor(['3']), NUMBER_KEY],
    [encodeCursor([1.5]), INTEGER_KEY],
    [encodeCursor(['x']), INTEGER_KEY]
  ]
  for (const [cursor, key] of refused) {
    t.throws(() => readCursor(cursor, key), notIssued, cursor)
    t.type((() => { try { readCursor(cursor, key) } catch (err) { return err } })(), FieldError)
  }
})

t.test('fetchPage: one row more than the page, and the cursor of the last row of the page when more follow', async (t) => {
  const rows = [{ seq: '9' }, { seq: '8' }, { seq: '7' }]
  const asked: number[] = []
  const full = await fetchPage(2, async (limit) => { asked.push(limit); return rows.slice(0, limit) }, (r) => [r.seq])
  t.same(asked, [3])
  t.same(full, { page: [{ seq: '9' }, { seq: '8' }], nextCursor: encodeCursor(['8']) })
  t.same(await fetchPage(3, async (limit) => rows.slice(0, limit), (r) => [r.seq]), { page: rows, nextCursor: null }, 'the last page has no cursor')
  t.same(await fetchPage(3, async () => [], (r: { seq: string }) => [r.seq]), { page: [], nextCursor: null })
})

t.test('keysetPage: the key under the repository\'s name, left out on the first page; a bad cursor fetches nothing', async (t) => {
  const calls: unknown[] = []
  const list = {
    key: SEQ_KEY,
    as: 'beforeSeq' as const,
    fetch: async (p: { limit: number, beforeSeq?: string }) => { calls.push(p); return [{ seq: '5' }, { seq: '4' }] },
    keyOf: (r: { seq: string }) => [r.seq]
  }
  t.same(await keysetPage({ limit: 1 }, list), { page: [{ seq: '5' }], nextCursor: encodeCursor(['5']) })
  t.same(await keysetPage({ limit: 5, cursor: encodeCursor(['6']) }, list), { page: [{ seq: '5' }, { seq: '4' }], nextCursor: null })
  t.same(calls, [{ limit: 2 }, { limit: 6, beforeSeq: '6' }])
  t.notOk('beforeSeq' in (calls[0] as object), 'no key at all on the first page, not an undefined one')
  await t.rejects(keysetPage({ limit: 5, cursor: encodeCursor(['x']) }, list), notIssued)
  t.equal(calls.length, 2, 'the refused cursor fetched nothing')
})
