import type { Kysely } from 'kysely'
import type { Database, Grant } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { recordEvent } from '../../platform/events.js'
import { GrantNotFoundError, GrantStateError, PartyForbiddenError } from '../errors.js'
import { canSee } from '../visibility.js'
import { recertificationView, type RecertifySettings } from './recertification.js'
import { createGrantRepository, effectiveStatus } from './repository.js'

export function toGrantView (g: Grant, settings: RecertifySettings) {
  return {
    id: g.id,
    shareRequest: g.share_request_id,
    consumerUnit: g.consumer_unit,
    subject: g.subject,
    dataset: g.dataset_code,
    producerUnit: g.producer_unit,
    fields: g.fields,
    rowFilter: g.row_filter,
    purpose: g.purpose,
    accessModes: g.access_modes,
    validFrom: g.valid_from,
    validUntil: g.valid_until,
    dailyRowQuota: g.daily_row_quota,
    masked: g.masked,
    thirdParty: g.third_party,
    childrenData: g.children_pi,
    consentBased: g.consent_based,
    purposeCode: g.purpose_code,
    status: effectiveStatus(g),
    statusReason: g.status_reason,
    statusChangedBy: g.status_changed_by,
    statusChangedAt: g.status_changed_at?.toISOString() ?? null,
    recertification: recertificationView(g, settings),
    createdAt: g.created_at.toISOString()
  }
}

export function createGrantService (db: Kysely<Database>) {
  const grants = createGrantRepository(db)
  return {
    async get (id: string, actor: Principal): Promise<Grant> {
      const g = await grants.find(id)
      if (!g || !canSee(actor, g)) throw new GrantNotFoundError(id)
      return g
    },

    /** The office, or a steward of the producer unit, ends a grant at once (R1.3: revocation of rights). */
    async revoke (id: string, reason: string, actor: Principal, requestId: string): Promise<Grant> {
      return await db.transaction().execute(async (trx) => {
        const before = await grants.find(id, trx, { lock: true })
        if (!before || !canSee(actor, before)) throw new GrantNotFoundError(id)
        const office = actor.roles.includes('security_admin')
        const producer = actor.roles.includes('steward') && actor.unit === before.producer_unit
        if (!office && !producer) throw new PartyForbiddenError(`only the office or a steward of the producer unit ${before.producer_unit} revokes this grant`)
        if (before.status === 'revoked') throw new GrantStateError('the grant is already revoked')
        const after = await grants.setStatus(id, 'revoked', reason, actor.sub, trx)
        await recordEvent(trx, {
          service: 'authorization',
          action: 'grant.revoke',
          actor,
          objectType: 'grant',
          objectId: id,
          dataset: before.dataset_code,
          requestId,
          details: { reason, before: { status: effectiveStatus(before) }, after: { status: 'revoked' } }
        })
        return after
      })
    }
  }
}
