// The office's list of purposes (R9.1): GET/POST /api/v1/purposes, PATCH /api/v1/purposes/{code}.
import t from 'tap'
import type { Role } from '../../src/platform/auth/roles.js'
import { eventsOf } from '../../src/platform/events.js'
import { build } from '../helpers/build.js'

const OFFICE = { unit: 'OFFICE', sub: 'office-wang' }
const body = (extra: object = {}) => ({ code: 'scholarship', nameZh: '奖助学金评定', nameEn: 'Scholarship assessment', description: 'assessing scholarship applications', ...extra })
const h = await build(t)
const as = async (role: Role, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
  await h.as(role, { method, url, ...(payload ? { payload } : {}) }, role === 'security_admin' ? OFFICE : { unit: 'CS', sub: `cs-${role}` })
const rows = async () => await h.database.db.selectFrom('purposes').selectAll().orderBy('code').execute()

t.test('the office adds, changes and retires purposes; everyone authenticated reads them', async (t) => {
  const created = await as('security_admin', 'POST', '/api/v1/purposes', body())
  t.equal(created.statusCode, 201, created.body)
  t.match(created.json(), { ...body(), retired: false, retiredAt: null, createdBy: 'office-wang' })
  await as('security_admin', 'POST', '/api/v1/purposes', body({ code: 'alumni' }))

  for (const role of ['steward', 'consumer', 'auditor', 'system_admin', 'supervisor', 'leadership'] as const) {
    const list = await as(role, 'GET', '/api/v1/purposes')
    t.equal(list.statusCode, 200, `${role} reads the list`)
    t.same(list.json().data.map((p: { code: string }) => p.code), ['alumni', 'scholarship'])
  }
  t.match((await as('consumer', 'GET', '/api/v1/purposes/scholarship')).json(), body())

  const changed = await as('security_admin', 'PATCH', '/api/v1/purposes/scholarship', { description: 'scholarships and bursaries' })
  t.equal(changed.statusCode, 200)
  t.match(changed.json(), { code: 'scholarship', description: 'scholarships and bursaries', nameEn: 'Scholarship assessment', retired: false })
  const retired = await as('security_admin', 'PATCH', '/api/v1/purposes/scholarship', { retired: true })
  t.match(retired.json(), { retired: true, retiredAt: /^\d{4}-/ })
  t.same((await as('steward', 'GET', '/api/v1/purposes?retired=false')).json().data.map((p: { code: string }) => p.code), ['alumni'])
  t.same((await as('steward', 'GET', '/api/v1/purposes?retired=true')).json().data.map((p: { code: string }) => p.code), ['scholarship'], 'retired, never deleted')
  t.match((await as('security_admin', 'PATCH', '/api/v1/purposes/scholarship', { retired: false })).json(), { retired: false, retiredAt: null }, 'brought back')

  const page = await as('consumer', 'GET', '/api/v1/purposes?limit=1')
  t.same(page.json().data.map((p: { code: string }) => p.code), ['alumni'])
  const next = await as('consumer', 'GET', `/api/v1/purposes?limit=1&cursor=${page.json().nextCursor}`)
  t.same(next.json(), { data: [next.json().data[0]], nextCursor: null })
  t.equal(next.json().data[0].code, 'scholarship')

  const events = await eventsOf(h.database.db, 'purpose', 'scholarship')
  t.same(events.map((e) => e.action), ['purpose.create', 'purpose.update', 'purpose.retire', 'purpose.update'])
  t.match(events[2]!.details, { before: { retired: false }, after: { retired: true } })
})

t.test('other roles do not write, a code is used once, bad input is a 400 naming the field; nothing changes', async (t) => {
  const before = await rows()
  for (const role of ['steward', 'consumer', 'auditor', 'system_admin', 'supervisor', 'leadership'] as const) {
    const post = await as(role, 'POST', '/api/v1/purposes', body({ code: 'by_' + role }))
    t.equal(post.statusCode, 403, `${role} adds none`)
    t.equal(post.json().code, 'AUTH_FORBIDDEN')
    t.equal((await as(role, 'PATCH', '/api/v1/purposes/alumni', { retired: true })).statusCode, 403, `${role} retires none`)
  }
  const twice = await as('security_admin', 'POST', '/api/v1/purposes', body({ nameEn: 'again' }))
  t.equal(twice.statusCode, 409)
  t.equal(twice.json().code, 'AUTHZ_PURPOSE_EXISTS')
  const { code: _c, ...noCode } = body()
  const { description: _d, ...noDescription } = body()
  const cases: [object, string][] = [
    [noCode, 'code'], [body({ code: 'Has Spaces' }), 'code'], [body({ code: 'x' }), 'code'], [body({ code: '1st' }), 'code'],
    [noDescription, 'description'], [body({ nameZh: '' }), 'nameZh'], [body({ nameEn: 'x'.repeat(201) }), 'nameEn'], [body({ retired: true }), 'retired']
  ]
  for (const [payload, field] of cases) {
    const res = await as('security_admin', 'POST', '/api/v1/purposes', payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `names ${field}: ${res.body}`)
  }
  for (const [payload, field] of [[{ code: 'renamed' }, 'code'], [{ retired: 'yes' }, 'retired'], [{ description: '' }, 'description']] as const) {
    const res = await as('security_admin', 'PATCH', '/api/v1/purposes/alumni', payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `names ${field}: ${res.body}`)
  }
  t.equal((await as('security_admin', 'PATCH', '/api/v1/purposes/alumni', {})).statusCode, 400, 'an empty change')
  t.equal((await as('security_admin', 'PATCH', '/api/v1/purposes/nope', { retired: true })).statusCode, 404)
  t.equal((await as('consumer', 'GET', '/api/v1/purposes/nope')).json().code, 'AUTHZ_PURPOSE_NOT_FOUND')
  t.equal((await as('consumer', 'GET', '/api/v1/purposes/Bad%20Code')).statusCode, 400)
  t.same(await rows(), before, 'nothing changed')
})
