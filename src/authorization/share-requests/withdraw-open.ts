import type { Transaction } from 'kysely'
import type { Database, ShareRequest } from '../../db/database.js'
import { createAgreementRepository } from '../agreements/repository.js'
import { createPrincipalRepository } from '../principals/repository.js'

/**
 * Withdraws the open share requests (pending review, or approved and not yet active) of one
 * requester or on one dataset, as a withdrawal by the consumer would: the decision reason says why,
 * and an agreement still waiting for signatures is void. A request being activated at this moment is
 * waited for (row locks), so that its new grant is seen by whatever revokes grants next in the same
 * transaction. Returns the requests as they were.
 */
export async function withdrawOpenRequests (trx: Transaction<Database>, of: { requestedBy: string } | { dataset: string }, reason: string): Promise<ShareRequest[]> {
  const principals = createPrincipalRepository(trx)
  const agreements = createAgreementRepository(trx)
  const open = await principals.lockOpenRequests(of, trx)
  await principals.withdrawRequests(open.map((r) => r.id), reason, trx)
  for (const r of open) await agreements.voidFor(r.id, trx)
  return open
}
