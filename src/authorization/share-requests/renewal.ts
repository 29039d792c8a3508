import type { Transaction } from 'kysely'
import type { Database, Grant, ShareRequest } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { RenewalOpenError } from '../errors.js'
import { createGrantRepository, effectiveStatus } from '../grants/repository.js'
import { createShareRequestRepository } from './repository.js'

type Trx = Transaction<Database>

/** The calendar day `offset` days from `day` (YYYY-MM-DD; grant validity is in whole campus days). */
export const dayPlus = (day: string, offset: number) => new Date(Date.parse(`${day}T00:00:00Z`) + offset * 86_400_000).toISOString().slice(0, 10)

/**
 * A renewal (004 §25) continues a live grant of the caller's own unit on the same dataset: it starts
 * after the grant's first day and no later than the day after its last, so that no day is left
 * uncovered. Another unit's grant is "no such grant", as any id in a body the caller cannot see.
 * One renewal of a grant at a time: while one is under review, approved or granted, another is 409.
 * The grant's row is locked, so two filings for one grant queue.
 */
export async function checkRenewal (trx: Trx, grantId: string, input: { dataset: string, validFrom: string }, actor: Principal): Promise<Grant> {
  const grant = await createGrantRepository(trx).find(grantId, trx, { lock: true })
  if (!grant || grant.consumer_unit !== actor.unit) throw new FieldError('renews', `your unit holds no grant ${grantId}`)
  if (grant.dataset_code !== input.dataset) throw new FieldError('renews', `grant ${grantId} is on dataset ${grant.dataset_code}: a renewal is on the same dataset`)
  const status = effectiveStatus(grant)
  if (status === 'revoked' || status === 'expired') throw new FieldError('renews', `grant ${grantId} is ${status}: file a new request instead`)
  if (input.validFrom <= grant.valid_from) {
    throw new FieldError('validFrom', `a renewal starts after grant ${grantId}'s first day, ${grant.valid_from}`)
  }
  if (input.validFrom > dayPlus(grant.valid_until, 1)) {
    throw new FieldError('validFrom', `a renewal leaves no gap: start on or before ${dayPlus(grant.valid_until, 1)}, the day after grant ${grantId} ends`)
  }
  const open = await createShareRequestRepository(trx).renewalOf(grantId, trx)
  if (open) {
    throw new RenewalOpenError(open.status === 'active'
      ? `grant ${grantId} was already renewed by request ${open.id}: renew its grant instead`
      : `grant ${grantId} already has a renewal under way, request ${open.id}: withdraw it first`)
  }
  return grant
}

/**
 * When a renewal's grant is created, the renewed grant ends the day before the new one starts: no
 * gap, no overlap. If the new grant is usable at once, the old one has thereby expired. A renewed
 * grant that was revoked, or already ends earlier, is left as it is.
 */
export async function endRenewedGrant (trx: Trx, request: ShareRequest, successor: Grant, actor: Principal, requestId: string): Promise<void> {
  if (request.renews === null) return
  const before = await createGrantRepository(trx).find(request.renews, trx, { lock: true })
  const lastDay = dayPlus(successor.valid_from, -1)
  if (!before || before.status === 'revoked' || before.valid_until <= lastDay) return
  const reason = `renewed by grant ${successor.id} (share request ${request.id}), valid from ${successor.valid_from}`
  const after = await createShareRequestRepository(trx).endRenewedGrant(before.id, lastDay, reason, actor.sub, trx)
  await recordEvent(trx, {
    service: 'authorization',
    action: 'grant.renewed',
    actor,
    objectType: 'grant',
    objectId: before.id,
    dataset: before.dataset_code,
    requestId,
    details: {
      reason,
      renewedBy: successor.id,
      shareRequest: request.id,
      before: { validUntil: before.valid_until, status: effectiveStatus(before) },
      after: { validUntil: after.valid_until, status: effectiveStatus(after) }
    }
  })
}
