// Re-certification of grants (POST /api/v1/grants/{id}/recertification, 004 §25): due grants are
// listed and alerted once, suspended after the grace, kept (re-activated) or revoked by a steward
// of the producer unit. The sweep runs with an injected `now`; nothing waits on its timer.
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { resolveGrant } from '../../src/authorization/grants/resolve.js'
import { sweepRecertification } from '../../src/authorization/grants/recertification.js'
import { loadConfig } from '../../src/config.js'
import { eventsOf } from '../../src/platform/events.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { build } from '../helpers/build.js'
import { insertGrant } from '../helpers/grants.js'
import { CS_STEWARD, day, LAW_STEWARD, MATH, MATH_STEWARD, OFFICE } from '../helpers/sharing.js'

const DAY = 86_400_000
const ago = (days: number) => new Date(Date.now() - days * DAY)
const settings = { GRANT_RECERTIFY_DAYS: 365, GRANT_RECERTIFY_GRACE_DAYS: 30 }

t.test('re-certification: due list, alert once, suspension after the grace, keep and revoke', async (t) => {
  // the app's own sweep must not run before the test's (it runs every REVIEW_SWEEP_SECONDS)
  const h = await build(t, { env: { REVIEW_SWEEP_SECONDS: '86400' } })
  const db = h.database.db
  const due = (await insertGrant(h, { grant: { created_at: ago(370), valid_until: day(800) } })).grant // due, within its grace
  const lapsed = (await insertGrant(h, { grant: { created_at: ago(400) } })).grant // past its grace
  const fresh = (await insertGrant(h, { grant: { created_at: ago(10) } })).grant
  await insertGrant(h, { grant: { created_at: ago(400), status: 'revoked' } }) // not live: never due
  const consent = (await insertGrant(h, { grant: { created_at: ago(400), status: 'suspended', status_reason: 'consent withdrawn', status_changed_by: 'cs-steward' } })).grant
  const list = async (role: Role, claims: { unit: string, sub: string }, query = 'true') =>
    (await h.as(role, { method: 'GET', url: `/api/v1/grants?recertificationDue=${query}` }, claims)).json().data.map((g: { id: string }) => g.id)
  const get = async (id: string) => (await h.as('security_admin', { method: 'GET', url: `/api/v1/grants/${id}` }, OFFICE)).json()
  const recertify = async (id: string, payload: object, role: Role = 'steward', claims = CS_STEWARD) =>
    await h.as(role, { method: 'POST', url: `/api/v1/grants/${id}/recertification`, payload }, claims)

  // listed to the producer's stewards and the office, within list visibility
  const dueIds = [consent.id, lapsed.id, due.id]
  t.same(await list('steward', CS_STEWARD), dueIds, 'the producer\'s steward sees the due grants, newest first')
  t.same(await list('security_admin', OFFICE), dueIds)
  t.same(await list('steward', LAW_STEWARD), [], 'another unit sees none')
  t.ok((await list('steward', CS_STEWARD, 'false')).includes(fresh.id))
  t.match(await get(due.id), { recertification: { due: true, dueAt: new Date(due.created_at.getTime() + 365 * DAY).toISOString(), last: null } })
  t.match(await get(fresh.id), { recertification: { due: false } })

  // the sweep: each due grant reported once, the one past its grace suspended
  const first = await sweepRecertification(db, settings)
  t.same(first.reported.sort(), [due.id, lapsed.id, consent.id].sort())
  t.same(first.suspended, [lapsed.id], 'only the active grant past its grace')
  t.match(await get(lapsed.id), { status: 'suspended', statusReason: /not re-certified/, statusChangedBy: 'system:recertification' })
  t.match(await get(consent.id), { status: 'suspended', statusReason: 'consent withdrawn' })
  t.same(await sweepRecertification(db, settings), { reported: [], suspended: [] }, 'never twice')
  const [suspension] = (await eventsOf(db, 'grant', lapsed.id)).filter((e) => e.action === 'grant.suspend')
  t.match(suspension, { actor_sub: 'system:recertification', details: { reason: /not re-certified/, after: { status: 'suspended' } } }, 'the suspension is audited')
  const log = auditLogOf(db)!
  await log.flush()
  await log.evaluateAlerts()
  await log.evaluateAlerts()
  const alerts = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts' })).json().data
    .filter((a: { rule: string }) => a.rule === 'recertification_due')
  t.equal(alerts.length, 3, 'one alert per due grant')
  t.match(alerts[0], { actor: { sub: 'system:recertification', unit: 'CS' } }, 'traced to the producer unit that must act')
  const reader = { sub: MATH.sub, unit: MATH.unit, roles: ['consumer' as const] }
  const use = async (id: string) => await resolveGrant(db, reader, 'students', 'api', id).then((g) => g.id, (err: { code: string }) => err.code)
  t.equal(await use(lapsed.id), 'AUTHZ_GRANT_NOT_USABLE', 'the data path refuses the suspended grant')

  // refused: every role but the producer's steward (403), another unit's steward (404); bad input 400
  const keep = { decision: 'keep', reason: 'still needed' }
  for (const role of ['consumer', 'security_admin', 'system_admin', 'auditor', 'supervisor', 'leadership'] as const) {
    t.equal((await recertify(due.id, keep, role, role === 'consumer' ? MATH : OFFICE)).statusCode, 403, role)
  }
  t.equal((await recertify(due.id, keep, 'steward', MATH_STEWARD)).statusCode, 403, 'the consumer unit\'s steward')
  t.equal((await recertify(due.id, keep, 'steward', LAW_STEWARD)).statusCode, 404, 'another unit\'s steward')
  for (const [payload, field] of [[{ decision: 'keep' }, 'reason'], [{ decision: 'maybe', reason: 'r' }, 'decision'], [{ decision: 'keep', reason: '' }, 'reason']] as const) {
    const res = await recertify(due.id, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.ok(res.json().errors?.some((e: { field: string }) => e.field === field), `names ${field}`)
  }
  t.match(await get(due.id), { status: 'active', recertification: { due: true, last: null } }, 'nothing changed by a refusal')

  // keep: a new period; a grant the sweep suspended is active again, one a consent suspended is not
  const kept = await recertify(due.id, keep)
  t.equal(kept.statusCode, 200, kept.body)
  t.match(kept.json(), { status: 'active', recertification: { due: false, last: { decision: 'keep', reason: 'still needed', by: CS_STEWARD.sub } } })
  t.ok(Date.parse(kept.json().recertification.dueAt) > Date.now() + 364 * DAY, 'due again a period from now')
  t.match((await recertify(lapsed.id, keep)).json(), { status: 'active', recertification: { due: false } }, 'the sweep\'s suspension is lifted')
  t.equal(await use(lapsed.id), lapsed.id, 'and the data path serves it again')
  t.match((await recertify(consent.id, keep)).json(), { status: 'suspended', statusReason: 'consent withdrawn' }, 'a consent\'s suspension stays')
  t.same(await list('steward', CS_STEWARD), [], 'nothing due any more')
  const [recertified] = (await eventsOf(db, 'grant', lapsed.id)).filter((e) => e.action === 'grant.recertify')
  t.match(recertified, { actor_sub: CS_STEWARD.sub, details: { recertification: 'keep', before: { status: 'suspended' }, after: { status: 'active' } } })

  // revoke ends the grant as a revocation does; a revoked grant is not re-certified
  const revoked = await recertify(fresh.id, { decision: 'revoke', reason: 'no longer needed' })
  t.match(revoked.json(), { status: 'revoked', statusReason: 'no longer needed', recertification: { last: { decision: 'revoke' } } })
  t.match((await eventsOf(db, 'grant', fresh.id)).map((e) => e.action), ['grant.revoke'])
  t.equal((await recertify(fresh.id, keep)).statusCode, 409)

  // a year and more on (the sweep's clock), the kept grant is due and then past its grace again
  const later = await sweepRecertification(db, settings, new Date(Date.now() + 400 * DAY))
  t.ok(later.reported.includes(due.id) && later.suspended.includes(due.id), 'the next period runs from the keep')
})

t.test('GRANT_RECERTIFY_DAYS and GRANT_RECERTIFY_GRACE_DAYS are validated', async (t) => {
  t.throws(() => loadConfig({ GRANT_RECERTIFY_DAYS: '0' }), /GRANT_RECERTIFY_DAYS/)
  t.throws(() => loadConfig({ GRANT_RECERTIFY_GRACE_DAYS: '-1' }), /GRANT_RECERTIFY_GRACE_DAYS/)
  t.match(loadConfig({}), { GRANT_RECERTIFY_DAYS: 365, GRANT_RECERTIFY_GRACE_DAYS: 30 })
})
