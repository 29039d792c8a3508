import t from 'tap'
import { eventsOf } from '../../src/platform/events.js'
import { build, createUnit } from '../helpers/build.js'

const unit = { code: 'CS', name: 'School of Computer Science', officer: { name: 'Li Wei', contact: 'liwei@example.edu.cn' } }

t.test('system_admin registers a unit and every role reads it', async (t) => {
  const h = await build(t)
  const created = await h.as('system_admin', { method: 'POST', url: '/api/v1/units', payload: unit })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { ...unit, description: null })
  t.ok(Date.parse(created.json().createdAt))

  for (const role of ['security_admin', 'auditor', 'steward', 'consumer', 'supervisor', 'leadership', 'system_admin'] as const) {
    const got = await h.as(role, { method: 'GET', url: '/api/v1/units/CS' })
    t.equal(got.statusCode, 200, `${role} reads a unit`)
    t.same(got.json(), created.json())
  }
})

t.test('only system_admin writes units', async (t) => {
  const h = await build(t)
  await createUnit(h, 'CS')
  for (const role of ['security_admin', 'auditor', 'steward', 'consumer', 'supervisor', 'leadership'] as const) {
    const post = await h.as(role, { method: 'POST', url: '/api/v1/units', payload: { ...unit, code: 'MATH' } })
    t.equal(post.statusCode, 403, `${role} may not create`)
    t.equal(post.headers['content-type'], 'application/problem+json; charset=utf-8')
    const patch = await h.as(role, { method: 'PATCH', url: '/api/v1/units/CS', payload: { name: 'changed' } })
    t.equal(patch.statusCode, 403, `${role} may not update`)
  }
  const list = await h.as('consumer', { method: 'GET', url: '/api/v1/units' })
  t.same(list.json().data.map((u: { code: string }) => u.code), ['CS'], 'nothing was written')
  t.equal(list.json().data[0].name, 'Unit CS')
})

t.test('a duplicate code is a 409 and changes nothing', async (t) => {
  const h = await build(t)
  await createUnit(h, 'CS', 'original')
  const res = await h.as('system_admin', { method: 'POST', url: '/api/v1/units', payload: unit })
  t.equal(res.statusCode, 409)
  t.match(res.json(), { status: 409, code: 'CATALOG_UNIT_EXISTS', detail: /CS/ })
  const got = await h.as('consumer', { method: 'GET', url: '/api/v1/units/CS' })
  t.equal(got.json().name, 'original')
})

t.test('bad input is a 400 naming the field, and nothing is written', async (t) => {
  const h = await build(t)
  const cases: [string, unknown, string][] = [
    ['missing officer', { code: 'A1', name: 'x' }, 'officer'],
    ['officer without contact', { code: 'A1', name: 'x', officer: { name: 'n' } }, 'officer.contact'],
    ['wrong type', { ...unit, code: 'A1', name: 12 }, 'name'],
    ['unknown field', { ...unit, code: 'A1', budget: 1 }, 'budget'],
    ['bad code', { ...unit, code: 'a b/c' }, 'code'],
    ['code too long', { ...unit, code: 'X'.repeat(33) }, 'code'],
    ['empty name', { ...unit, code: 'A1', name: '' }, 'name'],
    ['not an object', [unit], '']
  ]
  for (const [label, payload, field] of cases) {
    const res = await h.as('system_admin', { method: 'POST', url: '/api/v1/units', payload: payload as object })
    t.equal(res.statusCode, 400, label)
    const body = res.json()
    t.equal(body.code, 'VALIDATION_FAILED', label)
    t.ok(body.errors.some((e: { field: string }) => e.field === field), `${label} names ${field || 'the body'}: ${JSON.stringify(body.errors)}`)
  }
  const malformed = await h.as('system_admin', {
    method: 'POST', url: '/api/v1/units', payload: '{"code": "A1", ', headers: { 'content-type': 'application/json' }
  })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().code, 'MALFORMED_JSON')
  const list = await h.as('consumer', { method: 'GET', url: '/api/v1/units' })
  t.same(list.json().data, [], 'nothing was written')
})

t.test('update changes only what is given', async (t) => {
  const h = await build(t)
  const before = await createUnit(h, 'CS')
  const res = await h.as('system_admin', {
    method: 'PATCH', url: '/api/v1/units/CS', payload: { officer: { name: 'Zhang Min', contact: '+86 22 8888 0000' }, description: 'teaching and research' }
  })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { code: 'CS', name: before.name, officer: { name: 'Zhang Min' }, description: 'teaching and research' })
  t.ok(Date.parse(res.json().updatedAt) >= Date.parse(before.updatedAt))

  const empty = await h.as('system_admin', { method: 'PATCH', url: '/api/v1/units/CS', payload: {} })
  t.equal(empty.statusCode, 400, 'an empty patch is refused')
  const code = await h.as('system_admin', { method: 'PATCH', url: '/api/v1/units/CS', payload: { code: 'NEW' } })
  t.equal(code.statusCode, 400, 'the code is permanent')
  t.equal(code.json().errors[0].field, 'code')
  const missing = await h.as('system_admin', { method: 'PATCH', url: '/api/v1/units/NOPE', payload: { name: 'x' } })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'CATALOG_UNIT_NOT_FOUND')
})

t.test('an unknown unit is a 404 problem', async (t) => {
  const h = await build(t)
  const res = await h.as('consumer', { method: 'GET', url: '/api/v1/units/NOPE' })
  t.equal(res.statusCode, 404)
  t.match(res.json(), { type: 'urn:problem:datagate:catalog-unit-not-found', status: 404, title: 'Not Found', instance: '/api/v1/units/NOPE' })
})

t.test('the list is cursor-paginated and searchable', async (t) => {
  const h = await build(t)
  const codes = ['A1', 'B2', 'C3', 'D4', 'E5']
  for (const code of codes) await createUnit(h, code, code === 'D4' ? 'Library 图书馆' : `Unit ${code}`)
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await h.as('consumer', { method: 'GET', url: '/api/v1/units', query: { limit: '2', ...(cursor ? { cursor } : {}) } })
    t.equal(res.statusCode, 200)
    seen.push(...res.json().data.map((u: { code: string }) => u.code))
    cursor = res.json().nextCursor
    pages++
  } while (cursor)
  t.same(seen, codes)
  t.equal(pages, 3)

  const search = await h.as('consumer', { method: 'GET', url: '/api/v1/units?q=图书' })
  t.same(search.json().data.map((u: { code: string }) => u.code), ['D4'])
  const wildcard = await h.as('consumer', { method: 'GET', url: '/api/v1/units?q=%25' })
  t.same(wildcard.json().data, [], 'LIKE wildcards in q are literal')

  for (const query of ['limit=0', 'limit=201', 'limit=abc', 'cursor=!!', 'cursor=bm90LWpzb24', 'other=1']) {
    const res = await h.as('consumer', { method: 'GET', url: `/api/v1/units?${query}` })
    t.equal(res.statusCode, 400, query)
  }
})

t.test('creating and editing a unit are domain events, without the officer\'s personal data', async (t) => {
  const h = await build(t)
  await createUnit(h, 'CS')
  const res = await h.as('system_admin', {
    method: 'PATCH', url: '/api/v1/units/CS', payload: { name: 'Computer Science', officer: { name: 'Zhang San', contact: '13800138000' } }
  }, { sub: 'admin-li' })
  t.equal(res.statusCode, 200)
  const events = await eventsOf(h.database.db, 'unit', 'CS')
  t.same(events.map((e) => e.action), ['unit.create', 'unit.update'])
  t.match(events[1], { actor_sub: 'admin-li', details: { changed: ['name', 'officer'], after: { name: 'Computer Science' } } })
  t.notMatch(JSON.stringify(events), /Zhang San|13800138000|cs@example/, 'no officer name or contact in the events')
  const missing = await h.as('system_admin', { method: 'PATCH', url: '/api/v1/units/NOPE', payload: { name: 'x' } })
  t.equal(missing.statusCode, 404)
  t.equal((await eventsOf(h.database.db, 'unit', 'NOPE')).length, 0)
})
