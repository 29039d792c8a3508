import t from 'tap'
import { chooseGrant, heldGrants } from '../../src/authorization/grants/resolve.js'
import { eventsOf } from '../../src/platform/events.js'
import { build, type TestApp } from '../helpers/build.js'
import { call, commit, day, file, LAW, MATH, requestBody, review, sharingSetup } from '../helpers/sharing.js'

// Renewal (004 §25): a request names the grant it continues; when its grant starts the old one ends. One app for the file.
const h: TestApp = await build(t)
await sharingSetup(h)

const students = { dataset: 'students', fields: ['student_id', 'name'], rowFilter: {} }
const countRequests = async () => Number((await h.database.db.selectFrom('share_requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
const getGrant = async (id: string) => (await call(h, 'consumer', MATH, 'GET', `/api/v1/grants/${id}`)).json()

/** A `students` request (the office alone reviews it) walked to its grant. */
async function granted (overrides: Record<string, unknown> = {}, claims = MATH) {
  const filed = await file(h, { ...students, ...overrides }, claims)
  const approved = await review(h, filed.id, 'office')
  if (approved.statusCode !== 200) throw new Error(`office review: ${approved.body}`)
  const active = (await commit(h, filed.id, claims)).json()
  if (active.status !== 'active') throw new Error(`not active: ${JSON.stringify(active)}`)
  return active
}

t.test('a renewal usable at once ends the renewed grant at once: expired, audited, naming its successor', async (t) => {
  const old = await granted({ validFrom: day(-10), validUntil: day(5) })
  const renewal = await file(h, { ...students, renews: old.grant, validFrom: day(0), validUntil: day(200) })
  t.match(renewal, { renews: old.grant, status: 'pending_review', workflow: 'office', awaiting: ['office', 'commitment'] }, 'the full workflow')
  t.match((await getGrant(old.grant)).status, 'active', 'nothing changes before the renewal is granted')
  await review(h, renewal.id, 'office')
  const active = (await commit(h, renewal.id)).json()
  t.equal(active.status, 'active')
  t.match(active.commitment.text, new RegExp(`Renews grant ${old.grant as string}`))

  const ended = await getGrant(old.grant)
  t.match(ended, { status: 'expired', validUntil: day(-1), statusReason: new RegExp(`renewed by grant ${active.grant as string}`) })
  t.match(await getGrant(active.grant), { status: 'active', validFrom: day(0) })
  const events = await eventsOf(h.database.db, 'grant', old.grant)
  t.match(events.at(-1), { action: 'grant.renewed', details: { renewedBy: active.grant, before: { validUntil: day(5), status: 'active' }, after: { validUntil: day(-1), status: 'expired' } } })
  const all = await heldGrants(h.database.db, 'MATH', 'students')
  t.equal(chooseGrant({ sub: MATH.sub, unit: 'MATH', roles: ['consumer'] } as never, 'students', 'api', all).id, active.grant, 'one grant serves today: the new one')

  const again = await call(h, 'consumer', MATH, 'POST', '/api/v1/share-requests', requestBody({ ...students, renews: old.grant, validFrom: day(0) }))
  t.equal(again.statusCode, 400, 'an expired grant is not renewed')
  t.match(again.json().errors, [{ field: 'renews' }])
})

t.test('a renewal starting later leaves the renewed grant until the day before: no gap, no overlap', async (t) => {
  const old = await granted({ validFrom: day(-3), validUntil: day(30) })
  const renewal = await file(h, { ...students, renews: old.grant, validFrom: day(20), validUntil: day(300) })
  await review(h, renewal.id, 'office')
  const active = (await commit(h, renewal.id)).json()
  t.match(await getGrant(old.grant), { status: 'active', validUntil: day(19), statusReason: new RegExp(`renewed by grant ${active.grant as string}`) })
  const all = await heldGrants(h.database.db, 'MATH', 'students')
  const principal = { sub: MATH.sub, unit: 'MATH', roles: ['consumer'] } as never
  t.equal(chooseGrant(principal, 'students', 'api', all.filter((g) => g.id === old.grant || g.id === active.grant), undefined, day(19)).id, old.grant, 'the old grant on its last day')
  t.equal(chooseGrant(principal, 'students', 'api', all.filter((g) => g.id === old.grant || g.id === active.grant), undefined, day(20)).id, active.grant, 'the new one from the next')

  const twice = await call(h, 'consumer', MATH, 'POST', '/api/v1/share-requests', requestBody({ ...students, renews: old.grant, validFrom: day(20) }))
  t.equal(twice.statusCode, 409, 'a grant is renewed once')
  t.match(twice.json(), { code: 'AUTHZ_RENEWAL_OPEN', detail: /already renewed by request/ })
})

t.test('one open renewal of a grant at a time', async (t) => {
  const old = await granted({ validFrom: day(-3), validUntil: day(30) })
  const first = await file(h, { ...students, renews: old.grant, validFrom: day(31), validUntil: day(60) })
  const second = await call(h, 'consumer', MATH, 'POST', '/api/v1/share-requests', requestBody({ ...students, renews: old.grant, validFrom: day(31), validUntil: day(90) }))
  t.equal(second.statusCode, 409)
  t.match(second.json(), { code: 'AUTHZ_RENEWAL_OPEN', detail: new RegExp(`renewal under way, request ${first.id as string}`) })
  await call(h, 'consumer', MATH, 'POST', `/api/v1/share-requests/${first.id as string}/withdrawal`, { reason: 'wrong period' })
  t.match(await file(h, { ...students, renews: old.grant, validFrom: day(31), validUntil: day(90) }), { renews: old.grant }, 'after a withdrawal, a new renewal')
})

t.test('bad renewals are 400 naming the field, and change nothing', async (t) => {
  const old = await granted({ validFrom: day(-3), validUntil: day(30) })
  const revoked = await granted({ validFrom: day(-3), validUntil: day(30), purpose: 'to be revoked' })
  await call(h, 'security_admin', { unit: 'OFFICE', sub: 'office-zhao' }, 'POST', `/api/v1/grants/${revoked.grant as string}/revoke`, { reason: 'done' })
  const other = await granted({ validFrom: day(-3), validUntil: day(30) }, LAW)
  const before = await countRequests()
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ renews: '00000000-0000-4000-8000-000000000000' }, 'renews', /holds no grant/],
    [{ renews: other.grant }, 'renews', /holds no grant/],
    [{ renews: old.grant }, 'renews', /on dataset students/],
    [{ ...students, renews: revoked.grant }, 'renews', /is revoked/],
    [{ ...students, renews: old.grant, validFrom: day(-3) }, 'validFrom', /after grant .* first day/],
    [{ ...students, renews: old.grant, validFrom: day(32), validUntil: day(60) }, 'validFrom', /leaves no gap: start on or before/],
    [{ ...students, renews: 'not-a-uuid' }, 'renews', /./]
  ]
  for (const [overrides, field, detail] of cases) {
    const res = await call(h, 'consumer', MATH, 'POST', '/api/v1/share-requests', requestBody(overrides))
    t.equal(res.statusCode, 400, `${JSON.stringify(overrides)}: ${res.body}`)
    t.ok(res.json().errors?.some((e: { field: string, message: string }) => e.field === field && detail.test(e.message)), `names ${field}: ${res.body}`)
  }
  t.equal(await countRequests(), before, 'nothing was filed')
})
