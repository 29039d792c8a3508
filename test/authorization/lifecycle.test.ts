// The whole sharing lifecycle for each share attribute: request, reviews, agreement, commitment,
// grant, use (the grant the data path resolves), revoke, and offboarding of a person's own grant.
import t from 'tap'
import { resolveGrant } from '../../src/authorization/grants/resolve.js'
import type { Principal } from '../../src/platform/auth/plugin.js'
import { build, type TestApp } from '../helpers/build.js'
import { call, commit, CS_STEWARD, day, file, LAW, MATH, OFFICE, review, sharingSetup, sign } from '../helpers/sharing.js'

const alice: Principal = { sub: MATH.sub, unit: MATH.unit, roles: ['consumer'] }
const use = async (h: TestApp, who: Principal, dataset: string, mode: 'api' | 'export' = 'api', grant?: string) => {
  try {
    return (await resolveGrant(h.database.db, who, dataset, mode, grant)).id
  } catch (err) {
    return (err as { code: string }).code
  }
}

/** Files and walks a request through whatever its workflow asks, returning it as it ends. */
async function walk (h: TestApp, dataset: string, extra: Record<string, unknown> = {}) {
  const filed = await file(h, { dataset, fields: ['student_id', 'college'], rowFilter: {}, ...extra })
  for (const party of filed.awaiting as string[]) {
    if (party === 'producer' || party === 'office') await review(h, filed.id, party)
  }
  await commit(h, filed.id)
  const now = (await call(h, 'consumer', MATH, 'GET', `/api/v1/share-requests/${filed.id}`)).json()
  if (now.agreement) for (const party of ['consumer', 'producer', 'office'] as const) await sign(h, now.agreement, party)
  return (await call(h, 'consumer', MATH, 'GET', `/api/v1/share-requests/${filed.id}`)).json()
}

for (const [attribute, dataset, workflow] of [
  ['unconditional', 'courses', 'rule'],
  ['conditional, basic personnel data', 'students', 'office'],
  ['conditional', 'grades', 'producer_office']
] as const) {
  t.test(`${attribute}: request to grant, use, revoke`, async (t) => {
    const h = await build(t)
    await sharingSetup(h)
    t.equal(await use(h, alice, dataset), 'AUTHZ_NO_GRANT', 'no grant before the workflow')
    const done = await walk(h, dataset)
    t.match(done, { status: 'active', workflow, awaiting: [] })
    t.equal(Boolean(done.agreement), workflow === 'producer_office', 'an agreement exactly where R7.3 wants one')
    t.equal(await use(h, alice, dataset), done.grant, 'the data path finds the grant')
    t.equal(await use(h, { ...alice, sub: 'math-carol' }, dataset), done.grant, 'a unit-wide grant serves the whole unit')
    t.equal(await use(h, { ...LAW, roles: ['consumer'] }, dataset), 'AUTHZ_NO_GRANT', 'another unit has none')
    t.equal(await use(h, { ...LAW, roles: ['consumer'] }, dataset, 'api', done.grant), 'AUTHZ_GRANT_NOT_FOUND', 'nor can it name ours')
    t.equal(await use(h, alice, dataset, 'export'), 'AUTHZ_GRANT_NOT_USABLE', 'api only: no export')
    t.equal(await use(h, alice, dataset === 'students' ? 'grades' : 'students'), 'AUTHZ_NO_GRANT', 'one dataset, not the others')

    const revoked = await call(h, 'security_admin', OFFICE, 'POST', `/api/v1/grants/${done.grant}/revoke`, { reason: 'purpose fulfilled' })
    t.equal(revoked.json().status, 'revoked')
    t.equal(await use(h, alice, dataset), 'AUTHZ_GRANT_NOT_USABLE', 'revocation takes effect at once')
  })
}

t.test('not shareable: refused at filing, nothing to use', async (t) => {
  const h = await build(t)
  await sharingSetup(h)
  const filed = await file(h, { dataset: 'secrets' })
  t.equal(filed.status, 'rejected')
  t.equal(await use(h, alice, 'secrets'), 'AUTHZ_NO_GRANT')
})

t.test('a grant to one subject: only that person uses it; offboarding revokes it', async (t) => {
  const h = await build(t)
  await sharingSetup(h)
  const done = await walk(h, 'grades', { subject: 'math-alice', accessModes: ['api', 'export'] })
  t.equal(await use(h, alice, 'grades', 'export'), done.grant)
  t.equal(await use(h, { ...alice, sub: 'math-carol' }, 'grades'), 'AUTHZ_NO_GRANT', 'a colleague does not hold it')
  const pending = await file(h, { dataset: 'students', fields: ['student_id'] })
  const off = await call(h, 'security_admin', OFFICE, 'POST', '/api/v1/principals/math-alice/offboard', { unit: 'MATH', reason: 'left the university' })
  t.equal(off.statusCode, 200, off.body)
  t.same(off.json().revokedGrants, [done.grant])
  t.same(off.json().withdrawnRequests, [pending.id])
  t.equal(await use(h, alice, 'grades'), 'AUTHZ_GRANT_NOT_USABLE')
  const refused = await call(h, 'consumer', MATH, 'GET', '/api/v1/grants')
  t.equal(refused.statusCode, 403, 'the departed person\'s tokens stop working at once')
  t.equal(refused.json().code, 'AUTH_BLOCKED')
  t.equal((await call(h, 'consumer', { unit: 'MATH', sub: 'math-carol' }, 'GET', '/api/v1/grants')).statusCode, 200, 'colleagues go on')
})

t.test('expired, not yet valid and suspended grants are not used', async (t) => {
  const h = await build(t)
  await sharingSetup(h)
  const done = await walk(h, 'grades')
  const db = h.database.db
  await db.updateTable('grants').set({ valid_from: day(-30), valid_until: day(-1) }).where('id', '=', done.grant).execute()
  t.equal(await use(h, alice, 'grades'), 'AUTHZ_GRANT_NOT_USABLE', 'expired on its end date')
  await db.updateTable('grants').set({ valid_from: day(3), valid_until: day(30) }).where('id', '=', done.grant).execute()
  t.equal(await use(h, alice, 'grades'), 'AUTHZ_GRANT_NOT_USABLE', 'not valid yet')
  await db.updateTable('grants').set({ valid_from: day(0), status: 'suspended', status_reason: 'consent withdrawn' }).where('id', '=', done.grant).execute()
  t.equal(await use(h, alice, 'grades'), 'AUTHZ_GRANT_NOT_USABLE', 'suspended')
  await db.updateTable('grants').set({ status: 'active' }).where('id', '=', done.grant).execute()
  t.equal(await use(h, alice, 'grades'), done.grant, 'and usable again once active')

  // two usable grants: the caller names one
  const second = await walk(h, 'grades')
  t.equal(await use(h, alice, 'grades'), 'VALIDATION_FAILED', 'ambiguous without a name')
  t.equal(await use(h, alice, 'grades', 'api', second.grant), second.grant)
  t.equal(await use(h, alice, 'grades', 'api', '00000000-0000-4000-8000-000000000000'), 'AUTHZ_GRANT_NOT_FOUND')
  t.equal(await use(h, { ...CS_STEWARD, roles: ['steward'] }, 'grades', 'api', second.grant), 'AUTHZ_GRANT_NOT_FOUND', 'the producer does not read through the consumer\'s grant')
})
