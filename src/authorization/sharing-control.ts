import type { Kysely } from 'kysely'
import type { Database } from '../db/database.js'
import { recordEvent } from '../platform/events.js'
import type { SharingControl } from '../platform/ports.js'
import { createGrantRepository, effectiveStatus } from './grants/repository.js'
import { createInterestCheck } from './interest.js'
import { withdrawOpenRequests } from './share-requests/withdraw-open.js'

/** What the catalog asks of authorization (platform/ports.ts): given to it by the composition root. */
export function createSharingControl (db: Kysely<Database>): SharingControl {
  const grants = createGrantRepository(db)
  return {
    hasInterest: createInterestCheck(db),

    async holdsActiveGrant (dataset, unit) {
      const held = await grants.list({ consumer: unit, producer: null }, { dataset, consumerUnit: unit, status: 'active', limit: 1 })
      return held.length > 0
    },

    async endSharing (trx, { dataset, reason, actor, requestId, cause }) {
      // requests before grants: a request being activated right now is waited for, and its grant revoked below
      const withdrawn = await withdrawOpenRequests(trx, { dataset }, reason)
      for (const r of withdrawn) {
        await recordEvent(trx, {
          service: 'catalog',
          action: 'share_request.withdraw',
          actor,
          objectType: 'share_request',
          objectId: r.id,
          dataset,
          requestId,
          details: { reason, ...cause, before: { status: r.status }, after: { status: 'withdrawn' } }
        })
      }
      const revoked: string[] = []
      const live = await trx.selectFrom('grants').selectAll()
        .where('dataset_code', '=', dataset).where('status', '<>', 'revoked')
        .orderBy('seq').forUpdate().execute()
      for (const g of live) {
        await grants.setStatus(g.id, 'revoked', reason, actor.sub, trx)
        await recordEvent(trx, {
          service: 'catalog',
          action: 'grant.revoke',
          actor,
          objectType: 'grant',
          objectId: g.id,
          dataset,
          requestId,
          details: { reason, ...cause, before: { status: effectiveStatus(g) }, after: { status: 'revoked' } }
        })
        revoked.push(g.id)
      }
      return { withdrawn: withdrawn.length, revoked }
    }
  }
}
