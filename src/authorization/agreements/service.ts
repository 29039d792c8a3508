import type { Kysely } from 'kysely'
import type { Agreement, AgreementParty, AgreementSignature, Database } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { recordEvent } from '../../platform/events.js'
import { AgreementNotFoundError, AgreementStateError, PartyForbiddenError } from '../errors.js'
import { activateIfReady } from '../share-requests/activation.js'
import { canSee } from '../visibility.js'
import { createShareRequestRepository } from '../share-requests/repository.js'
import { AGREEMENT_PARTIES } from './schemas.js'
import { createAgreementRepository } from './repository.js'

/** Whether the caller represents the party: the consumer unit's staff, the producer's steward, the office. */
function represents (principal: Principal, a: Agreement, party: AgreementParty): boolean {
  switch (party) {
    case 'consumer': return principal.unit === a.consumer_unit && (principal.roles.includes('consumer') || principal.roles.includes('steward'))
    case 'producer': return principal.unit === a.producer_unit && principal.roles.includes('steward')
    case 'office': return principal.roles.includes('security_admin')
  }
}

export function agreementView (a: Agreement, signatures: readonly AgreementSignature[]) {
  return {
    id: a.id,
    shareRequest: a.share_request_id,
    consumerUnit: a.consumer_unit,
    producerUnit: a.producer_unit,
    content: a.content,
    digest: { sha256: a.digest_sha256, sm3: a.digest_sm3 },
    status: a.status,
    signatures: signatures.map((s) => ({ party: s.party, signer: s.signer_sub, signerUnit: s.signer_unit, signedAt: s.signed_at.toISOString() })),
    awaiting: a.status === 'pending_signatures' ? AGREEMENT_PARTIES.filter((p) => !signatures.some((s) => s.party === p)) : [],
    createdAt: a.created_at.toISOString(),
    completedAt: a.completed_at?.toISOString() ?? null
  }
}

export function createAgreementService (db: Kysely<Database>) {
  const agreements = createAgreementRepository(db)
  return {
    async get (id: string, actor: Principal) {
      const a = await agreements.find(id)
      if (!a || !canSee(actor, a)) throw new AgreementNotFoundError(id)
      return agreementView(a, await agreements.signatures(id))
    },

    /** One party signs; the third signature completes the agreement and may activate the grant. */
    async sign (id: string, party: AgreementParty, actor: Principal, requestId: string) {
      return await db.transaction().execute(async (trx) => {
        // lock the request first, in the order every other step of the workflow takes its locks
        const head = await agreements.find(id, trx)
        if (!head || !canSee(actor, head)) throw new AgreementNotFoundError(id)
        const request = (await createShareRequestRepository(trx).find(head.share_request_id, trx, { lock: true }))!
        const a = (await agreements.find(id, trx, { lock: true }))!
        if (!represents(actor, a, party)) {
          throw new PartyForbiddenError(`you do not represent the ${party} of this agreement`)
        }
        if (a.status !== 'pending_signatures') throw new AgreementStateError(`the agreement is ${a.status}`)
        const before = await agreements.signatures(id, trx)
        if (before.some((s) => s.party === party)) throw new AgreementStateError(`the ${party} has already signed`)
        // a tripartite agreement is three people's word: one who holds two parties' roles signs for one
        const own = before.find((s) => s.signer_sub === actor.sub)
        if (own) throw new PartyForbiddenError(`${actor.sub} already signed for the ${own.party}: each party signs through its own person`)
        await agreements.sign(id, party, actor, trx)
        const signed = before.length + 1 === AGREEMENT_PARTIES.length
        const after = signed ? await agreements.complete(id, trx) : a
        await recordEvent(trx, {
          service: 'authorization',
          action: 'agreement.sign',
          actor,
          objectType: 'agreement',
          objectId: id,
          dataset: request.dataset_code,
          requestId,
          details: { party, shareRequest: request.id, complete: signed, digest: { sha256: a.digest_sha256, sm3: a.digest_sm3 } }
        })
        if (signed) await activateIfReady(trx, request, actor, requestId)
        return agreementView(after, await agreements.signatures(id, trx))
      })
    }
  }
}
