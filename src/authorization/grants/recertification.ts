import type { Kysely, Transaction } from 'kysely'
import type { Config } from '../../config.js'
import type { Database, Grant } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { campusToday } from '../../platform/calendar.js'
import type { DomainAction } from '../../platform/audit-actions.js'
import { recordEvent } from '../../platform/events.js'
import { GrantNotFoundError, GrantStateError, PartyForbiddenError } from '../errors.js'
import { canSee } from '../visibility.js'
import { createGrantRepository, effectiveStatus } from './repository.js'
import type { RecertificationBody } from './schemas.js'

/**
 * Re-certification of grants (004 §25: rights reviewed periodically). A steward of the producer
 * unit re-confirms every live grant each GRANT_RECERTIFY_DAYS, counted from its creation or its
 * last decision. A periodic sweep reports each grant that falls due, once (an audit alert), and
 * suspends the ones still unconfirmed GRANT_RECERTIFY_GRACE_DAYS later; a later `keep` lifts
 * that suspension (and only that one: a suspension for a withdrawn consent, from before consents were
 * held row by row, stays).
 */
export type RecertifySettings = Pick<Config, 'GRANT_RECERTIFY_DAYS' | 'GRANT_RECERTIFY_GRACE_DAYS'>

/** Who suspends unconfirmed grants: `status_changed_by` of exactly the suspensions a `keep` lifts. */
export const RECERTIFICATION_SWEEPER = 'system:recertification'

const DAY_MS = 86_400_000
const periodStart = (g: Grant) => g.recertified_at ?? g.created_at
const dueAtOf = (g: Grant, s: RecertifySettings) => new Date(periodStart(g).getTime() + s.GRANT_RECERTIFY_DAYS * DAY_MS)
const graceEndOf = (g: Grant, s: RecertifySettings) => new Date(dueAtOf(g, s).getTime() + s.GRANT_RECERTIFY_GRACE_DAYS * DAY_MS)

/** The latest period start that is due at `now` (the list's and the sweep's cut-off). */
export const dueCutoff = (s: RecertifySettings, now = new Date()) => new Date(now.getTime() - s.GRANT_RECERTIFY_DAYS * DAY_MS)

export function recertificationView (g: Grant, s: RecertifySettings, now = new Date()) {
  const dueAt = dueAtOf(g, s)
  const live = g.status !== 'revoked' && effectiveStatus(g, campusToday(now)) !== 'expired'
  return {
    dueAt: dueAt.toISOString(),
    graceEndsAt: graceEndOf(g, s).toISOString(),
    due: live && dueAt <= now,
    last: g.recertification_decision === null || g.recertified_at === null
      ? null
      : { decision: g.recertification_decision, reason: g.recertification_reason ?? '', by: g.recertified_by ?? '', at: g.recertified_at.toISOString() }
  }
}

/** A steward of the producer unit keeps or revokes a live grant. */
export async function recertifyGrant (
  db: Kysely<Database>, s: RecertifySettings, id: string, body: RecertificationBody, actor: Principal, requestId: string
): Promise<Grant> {
  const grants = createGrantRepository(db)
  return await db.transaction().execute(async (trx) => {
    const before = await grants.find(id, trx, { lock: true })
    if (!before || !canSee(actor, before)) throw new GrantNotFoundError(id)
    if (!actor.roles.includes('steward') || actor.unit !== before.producer_unit) {
      throw new PartyForbiddenError(`only a steward of the producer unit ${before.producer_unit} re-certifies this grant`)
    }
    const status = effectiveStatus(before)
    if (status !== 'active' && status !== 'suspended') throw new GrantStateError(`the grant is ${status}: only a live grant is re-certified`)
    let after = await grants.recertify(id, body.decision, body.reason, actor.sub, trx)
    if (body.decision === 'revoke') {
      after = await grants.setStatus(id, 'revoked', body.reason, actor.sub, trx)
    } else if (status === 'suspended' && before.status_changed_by === RECERTIFICATION_SWEEPER) {
      // consents are held row by row now: a kept grant is active again, whatever its consents
      after = await grants.setStatus(id, 'active', `re-certified: ${body.reason}`, actor.sub, trx)
    }
    await recordEvent(trx, {
      service: 'authorization',
      action: body.decision === 'revoke' ? 'grant.revoke' : 'grant.recertify',
      actor,
      objectType: 'grant',
      objectId: id,
      dataset: before.dataset_code,
      requestId,
      details: {
        reason: body.reason,
        recertification: body.decision,
        consumerUnit: before.consumer_unit,
        before: { status, dueAt: dueAtOf(before, s).toISOString() },
        after: { status: effectiveStatus(after), dueAt: dueAtOf(after, s).toISOString() }
      }
    })
    return after
  })
}

/** An event of the sweep on a grant, in the name of the unit that must act: the producer. */
async function sweeperEvent (trx: Transaction<Database>, g: Grant, action: DomainAction, details: Record<string, unknown>) {
  await recordEvent(trx, {
    service: 'authorization',
    action,
    actor: { sub: RECERTIFICATION_SWEEPER, unit: g.producer_unit, roles: [] },
    objectType: 'grant',
    objectId: g.id,
    dataset: g.dataset_code,
    details
  })
}

/**
 * One pass of the sweep at `now` (injected by tests): reports each live grant that fell due and
 * was not reported in its period (`grant.recertification_due`, raising a `recertification_due`
 * alert), then suspends the active ones past their grace (`grant.suspend`). Claims rows as it
 * goes, so several instances never report or suspend one grant twice.
 */
export async function sweepRecertification (db: Kysely<Database>, s: RecertifySettings, now = new Date()): Promise<{ reported: string[], suspended: string[] }> {
  const today = campusToday(now)
  return await db.transaction().execute(async (trx) => {
    const grants = createGrantRepository(trx)
    const due = await grants.takeNewlyDue(dueCutoff(s, now), today, now, trx)
    for (const g of due) {
      await sweeperEvent(trx, g, 'grant.recertification_due', { dueAt: dueAtOf(g, s).toISOString(), graceEndsAt: graceEndOf(g, s).toISOString(), consumerUnit: g.consumer_unit })
    }
    const graceCutoff = new Date(dueCutoff(s, now).getTime() - s.GRANT_RECERTIFY_GRACE_DAYS * DAY_MS)
    const lapsed = await grants.unconfirmedPastGrace(graceCutoff, today, trx)
    for (const g of lapsed) {
      const reason = `not re-certified by a steward of ${g.producer_unit} since it was due on ${dueAtOf(g, s).toISOString().slice(0, 10)}: suspended until one keeps it`
      await grants.setStatus(g.id, 'suspended', reason, RECERTIFICATION_SWEEPER, trx)
      await sweeperEvent(trx, g, 'grant.suspend', { reason, consumerUnit: g.consumer_unit, before: { status: 'active' }, after: { status: 'suspended' } })
    }
    return { reported: due.map((g) => g.id), suspended: lapsed.map((g) => g.id) }
  })
}
