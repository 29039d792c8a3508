// The hot statements of the data path are prepared on each PostgreSQL connection (parsed and planned
// once, then bound and executed), marked by a leading comment; other statements run as they are,
// and past a bound on distinct texts marked ones run unprepared too.
import t from 'tap'
import { PREPARED, preparedQuery } from '../../src/db/create-db.js'

t.test('marked statements become named statements, one name per text', async (t) => {
  const text = `${PREPARED}select $1::int as n`
  const first = preparedQuery(text, [1])
  t.match(first, { name: /^dg_[A-Za-z0-9_-]{24}$/, text, values: [1] })
  t.same(preparedQuery(text, [2]), { ...(first as object), values: [2] }, 'the same name for the same text')
  t.not((preparedQuery(`${PREPARED}select 2`, []) as { name: string }).name, (first as { name: string }).name, 'another text, another name')
  t.equal(preparedQuery('select 1', []), 'select 1', 'unmarked: as it is')
  for (let i = 0; i < 600; i++) preparedQuery(`${PREPARED}select ${i}`, [])
  t.equal(preparedQuery(`${PREPARED}select 'one too many'`, []), `${PREPARED}select 'one too many'`, 'past the bound: unprepared')
  t.match(preparedQuery(text, [3]), { name: (first as { name: string }).name }, 'those prepared before stay prepared')
})
