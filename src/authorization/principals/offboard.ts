import type { Kysely, Transaction } from 'kysely'
import { addBlacklistEntry } from '../../audit/index.js'
import type { Database, Offboarding } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { createClientRepository } from '../../platform/clients/repository.js'
import type { DomainAction } from '../../platform/audit-actions.js'
import { recordEvent } from '../../platform/events.js'
import { effectiveStatus } from '../grants/repository.js'
import { withdrawOpenRequests } from '../share-requests/withdraw-open.js'
import { AlreadyOffboardedError } from './errors.js'
import { createPrincipalRepository } from './repository.js'
import type { Offboard } from './schemas.js'

type Trx = Transaction<Database>

/**
 * When someone leaves, every access right is revoked at once and they stay under a one-year
 * confidentiality period (R1.4, 001 §53): in one transaction the grants to them are revoked, the share
 * requests they filed and that are still open are withdrawn, the service clients they hold are
 * disabled, and the departure is recorded with the end of the period. All or nothing.
 */
export function createOffboarding (db: Kysely<Database>) {
  const principals = createPrincipalRepository(db)
  const clients = createClientRepository(db)

  return async function offboard (sub: string, input: Offboard, actor: Principal, requestId: string): Promise<Offboarding> {
    const { unit, reason } = input
    const exitAudit = input.exitAudit ?? false
    const cause = { cause: 'offboarding', sub, unit }

    return await db.transaction().execute(async (trx) => {
      const note = async (action: DomainAction, objectType: string, objectId: string, dataset: string | null, details: Record<string, unknown>) =>
        await recordEvent(trx, { service: 'authorization', action, actor, requestId, objectType, objectId, dataset, details })

      // first: a second offboarding of the same person waits on this row, then finds it (409)
      const record = await principals.insert({ sub, unit, reason, exitAudit, by: actor.sub }, trx)
      if (!record) {
        const earlier = await principals.find(sub, unit, trx)
        throw new AlreadyOffboardedError(sub, unit, earlier?.offboarded_at.toISOString() ?? 'an earlier time')
      }
      // requests before grants: a request being activated right now is waited for, and its new grant is then seen below
      const requests = await withdrawOpenRequests(trx, { requestedBy: sub }, `withdrawn on the offboarding of the requester: ${reason}`)
      const grants = await revokeGrants(trx, sub, reason, actor.sub)
      const held = await clients.disableHeldBy(sub, trx)

      for (const r of requests) {
        await note('share_request.withdraw', 'share_request', r.id, r.dataset_code, { reason, ...cause, before: { status: r.status }, after: { status: 'withdrawn' } })
      }
      for (const g of grants) {
        await note('grant.revoke', 'grant', g.id, g.dataset_code, { reason, ...cause, before: { status: effectiveStatus(g) }, after: { status: 'revoked' } })
      }
      for (const c of held) {
        await note('client.disable', 'service_client', c.client_id, null, {
          ...cause, clientUnit: c.unit_code, name: c.name, kind: c.kind, before: { status: 'active' }, after: { status: 'disabled' }
        })
      }

      const lists = { grants: grants.map((g) => g.id), requests: requests.map((r) => r.id), clients: held.map((c) => c.client_id) }
      const done = await principals.setRevoked(record.id, lists, trx)
      await note('principal.offboard', 'principal', sub, null, {
        unit,
        reason,
        exitAudit,
        confidentialityUntil: done.confidentiality_until.toISOString(),
        revokedGrants: lists.grants,
        withdrawnRequests: lists.requests,
        disabledClients: lists.clients
      })
      // the tokens the person and the clients it held already have stop working too: blacklist
      // entries (the subject in its unit, each client), in this transaction, seen by every process
      // within a second
      await addBlacklistEntry(trx, { kind: 'principal', value: sub, unit, reason: `offboarded: ${reason}`, expiresAt: null, actor, requestId })
      for (const c of held) {
        await addBlacklistEntry(trx, { kind: 'client', value: c.client_id, reason: `held by ${sub}, offboarded`, expiresAt: null, actor, requestId })
      }
      return done
    })
  }

  async function revokeGrants (trx: Trx, sub: string, reason: string, by: string) {
    const live = await principals.lockLiveGrants(sub, trx)
    await principals.revokeGrants(live.map((g) => g.id), `offboarding: ${reason}`, by, trx)
    return live
  }
}
