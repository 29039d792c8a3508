// Narrowing a grant (PATCH /api/v1/grants/{id}, 004 §22): the office or the producer's steward
// takes fields, rows, quota and validity away, never adds; the data path reads under the narrower
// terms at once in this process and, in another, at its next poll of the grants version
// (DATA_CACHE_REFRESH_MS, at most a second).
import t from 'tap'
import { createDataCache } from '../../src/gateway/data/cache.js'
import { dataPathOf } from '../../src/gateway/data/plugin.js'
import { eventsOf } from '../../src/platform/events.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { build } from '../helpers/build.js'
import { dataFixture, MATH_READER } from '../helpers/data.js'
import { insertGrant } from '../helpers/grants.js'
import { CS_STEWARD, day, LAW_STEWARD, MATH, MATH_STEWARD, OFFICE } from '../helpers/sharing.js'

const FIELDS = ['student_id', 'name', 'phone', 'college', 'year']
const FILTER = { year: { in: [2021, 2022, 2023] } }

t.test('narrowing: who may, what is refused, and the data path at once', async (t) => {
  const h = await build(t)
  const { grant } = await dataFixture(h, 30, { grant: { row_filter: JSON.stringify(FILTER), daily_row_quota: 1000, valid_until: day(100) } })
  const url = `/api/v1/grants/${grant.id}`
  const patch = async (role: Role, claims: { unit: string, sub: string }, payload: object, id = grant.id) =>
    await h.as(role, { method: 'PATCH', url: `/api/v1/grants/${id}`, payload }, claims)
  const asOffice = async () => (await h.as('security_admin', { method: 'GET', url }, OFFICE)).json()
  const read = async (query = '') => await h.as('consumer', { method: 'GET', url: `/api/v1/data/students/records${query}` }, MATH_READER)
  const original = await asOffice()
  t.match(original, { fields: FIELDS, rowFilter: FILTER, dailyRowQuota: 1000, validUntil: day(100), status: 'active' })
  t.equal((await read('?limit=100')).json().data.length, 18, 'the rows of three years of thirty')

  // refused: every other role, the consumer unit's own steward (403), another unit's steward (404)
  const quota = { reason: 'less', dailyRowQuota: 5 }
  for (const role of ['consumer', 'system_admin', 'auditor', 'supervisor', 'leadership'] as const) {
    t.equal((await patch(role, role === 'consumer' ? MATH : OFFICE, quota)).statusCode, 403, role)
  }
  const consumerSteward = await patch('steward', MATH_STEWARD, quota)
  t.equal(consumerSteward.statusCode, 403, 'the consumer unit\'s steward does not narrow')
  t.equal(consumerSteward.json().code, 'AUTHZ_PARTY_FORBIDDEN')
  t.equal((await patch('steward', LAW_STEWARD, quota)).statusCode, 404, 'another unit\'s grant is not found')

  // bad input: widening each property, or nothing to narrow, is a 400 naming the property
  const bad: Array<[object, string]> = [
    [{ dailyRowQuota: 5 }, 'reason'],
    [{ reason: 'r', fields: ['student_id', 'email'] }, 'fields.1'],
    [{ reason: 'r', rowFilter: { college: 'CS' } }, 'rowFilter.year'],
    [{ reason: 'r', rowFilter: { year: { in: [2021, 2024] } } }, 'rowFilter.year'],
    [{ reason: 'r', rowFilter: { ...FILTER, nope: 1 } }, 'rowFilter.nope'],
    [{ reason: 'r', dailyRowQuota: 1001 }, 'dailyRowQuota'],
    [{ reason: 'r', validUntil: day(101) }, 'validUntil'],
    [{ reason: 'r', validUntil: day(-1) }, 'validUntil'],
    [{ reason: 'r', fields: FIELDS, dailyRowQuota: 1000 }, 'fields'],
    [{ reason: 'r', status: 'active' }, 'status']
  ]
  for (const [payload, field] of bad) {
    const res = await patch('steward', CS_STEWARD, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `names ${field}`)
  }
  t.match((await patch('steward', CS_STEWARD, { reason: 'r', dailyRowQuota: 2000 })).json().detail, /new share request/, 'points to a new share request')
  t.same(await asOffice(), original, 'nothing changed by a refusal')

  // another gateway process's cache: not told of this process's events, trusted by its (frozen) clock
  const other = createDataCache(h.database.db, { refreshMs: 200, now: () => 0 })
  await other.stop()
  await other.refresh()
  t.same((await other.grantsOf('MATH', 'students'))[0]!.fields, FIELDS)

  // the producer's steward narrows every term; the next read uses them (18 rows of today's quota are used).
  // The quota counter's background sync is stopped first: while a sync's write is in flight, this
  // process briefly counts what it wrote neither as pending nor as shared (src/gateway/data/quota.ts)
  await dataPathOf(h.app.db)!.quota.stop()
  const narrowed = await patch('steward', CS_STEWARD, {
    reason: 'the assessment needs less',
    fields: ['student_id', 'college', 'year'],
    rowFilter: { year: { in: [2021, 2022] }, college: 'CS' },
    dailyRowQuota: 20,
    validUntil: day(10)
  })
  t.equal(narrowed.statusCode, 200, narrowed.body)
  t.match(narrowed.json(), { fields: ['student_id', 'college', 'year'], rowFilter: { year: { in: [2021, 2022] }, college: 'CS' }, dailyRowQuota: 20, validUntil: day(10) })
  t.equal((await read('?fields=name')).statusCode, 403, 'a removed field is refused')
  const page = (await read('?limit=100')).json()
  t.same(Object.keys(page.data[0]).sort(), ['college', 'student_id', 'year'], 'only the fields left')
  t.equal(page.data.length, 2, 'what is left of the lower quota')
  t.ok(page.data.every((r: { college: string, year: number }) => r.college === 'CS' && [2021, 2022].includes(r.year)), 'only the rows left')
  t.equal((await read()).statusCode, 429, 'the lower quota is used up')
  t.same((await other.grantsOf('MATH', 'students'))[0]!.fields, FIELDS, 'until it polls, another process holds the old terms')
  await other.refresh()
  t.match((await other.grantsOf('MATH', 'students'))[0], { fields: ['student_id', 'college', 'year'], daily_row_quota: 20 }, 'its poll (every DATA_CACHE_REFRESH_MS) sees the grants version moved')

  const [event] = (await eventsOf(h.database.db, 'grant', grant.id)).filter((e) => e.action === 'grant.narrow')
  t.match(event, {
    actor_sub: CS_STEWARD.sub,
    details: {
      reason: 'the assessment needs less',
      before: { fields: FIELDS, rowFilter: FILTER, dailyRowQuota: 1000, validUntil: day(100) },
      after: { fields: ['student_id', 'college', 'year'], dailyRowQuota: 20, validUntil: day(10) }
    }
  }, 'audited with the terms before and after')

  // the office narrows a suspended grant; a revoked one is 409
  const { grant: suspended } = await insertGrant(h, { grant: { status: 'suspended', status_reason: 'consent withdrawn' } })
  const office = await patch('security_admin', OFFICE, { reason: 'smaller', dailyRowQuota: 10 }, suspended.id)
  t.equal(office.statusCode, 200, office.body)
  t.match(office.json(), { dailyRowQuota: 10, status: 'suspended' })
  const { grant: revoked } = await insertGrant(h, { grant: { status: 'revoked' } })
  t.equal((await patch('security_admin', OFFICE, { reason: 'r', dailyRowQuota: 10 }, revoked.id)).statusCode, 409)
})
