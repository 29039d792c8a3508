// unstorablePath (src/platform/problem.ts): where text PostgreSQL cannot store sits in a parsed input.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { unstorablePath } from '../../src/platform/problem.js'

t.test('finds a NUL or a lone surrogate in strings, keys and nested values, by path', async (t) => {
  t.equal(unstorablePath('a\u0000b'), '')
  t.equal(unstorablePath({ unit: { name: 'x\ud800' } }), 'unit.name')
  t.equal(unstorablePath({ rows: [{ ok: 'fine' }, { 'k\u0000': 1 }] }), 'rows.1.k\u0000')
  t.equal(unstorablePath(Object.assign(Object.create(null) as object, { q: 'a\udfffb' })), 'q', 'a null-prototype object')
  // fast-querystring's objects have a prototype of their own (found by fuzzing GET /api/v1/grants?subject=a%00b)
  function Query () {}
  Query.prototype = Object.create(null) as object
  t.equal(unstorablePath(Object.assign(new (Query as unknown as new () => object)(), { subject: 'a\u0000b' })), 'subject', 'a querystring')
  t.equal(unstorablePath({ name: '欧阳娜娜 😀', n: 1, list: ['a', null, true] }), null, 'paired surrogates and other values are fine')
})

t.test('walks only parsed data: a proxied route\'s raw stream body (cycles, sockets) is left alone', async (t) => {
  const stream = new PassThrough()
  const started = Date.now()
  t.equal(unstorablePath(stream), null, 'a stream is not walked')
  t.equal(unstorablePath(Buffer.from('a\u0000b')), null, 'a Buffer (a raw body) is not walked')
  t.equal(unstorablePath({ body: stream }), null, 'nor is one inside parsed data')
  t.ok(Date.now() - started < 10_000, 'and it returns, rather than walk a stream\'s internals')
  t.equal(unstorablePath({ note: 'x\u0000', stream }), 'note')
  stream.destroy()
})
