// A batch of rows travels to the database as array parameters of unnest(): in the binary format of
// array_recv through node-postgres, as JS arrays through PGlite. Either way what arrives is what was
// sent: multi-byte and astral text, empty strings, nulls, nested JSON, raw bytes.
import { sql } from 'kysely'
import t from 'tap'
import { arrayParams } from '../../src/db/array-params.js'
import { build } from '../helpers/build.js'

t.test('text, jsonb and bytea arrays arrive as sent, nulls and all', async (t) => {
  const h = await build(t)
  const db = h.database.db
  const arrays = arrayParams(db)
  t.equal(Buffer.isBuffer(arrays.text(['a'])), h.database.kind === 'postgres', 'binary through node-postgres only')

  const texts = ['plain', '', '张三 "quoted" \\ back,slash {braces}', null, '𠮷 astral ✓', 'x'.repeat(3000)]
  const json = [{ a: 1, nested: { b: ['x', null, 2.5] } }, null, '138****5678', [], { '#': 'd', display: { name: '张**' } }, 0]
  const bytes = [Buffer.from([0, 1, 2, 255]), null, Buffer.alloc(0), undefined, Buffer.from('sealed'), Buffer.alloc(300, 7)]
  const rows = await sql<{ n: number, t: string | null, j: unknown, b: Uint8Array | null }>`
    select n::int, t, j, b from unnest(${arrays.text(texts)}::text[], ${arrays.jsonb(json)}::jsonb[], ${arrays.bytea(bytes)}::bytea[])
      with ordinality as r(t, j, b, n) order by n`.execute(db)
  t.same(rows.rows.map((r) => r.t), texts)
  t.same(rows.rows.map((r) => r.j), json)
  t.same(rows.rows.map((r) => r.b === null ? null : [...r.b]), bytes.map((b) => b == null ? null : [...b]))

  const empty = await sql<{ n: number }>`select count(*)::int as n from unnest(${arrays.text([])}::text[])`.execute(db)
  t.equal(empty.rows[0]!.n, 0, 'an empty array is no rows')
})
