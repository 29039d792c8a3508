import type { Kysely } from 'kysely'
import type { InterestCheck } from '../catalog/index.js'
import type { Database } from '../db/database.js'
import { createShareRequestRepository } from './share-requests/repository.js'

/**
 * The catalog's question for restricted metadata (R2.8): does a unit hold a live grant on the
 * dataset, or have a share request for it under way? Such units see its field list.
 */
export function createInterestCheck (db: Kysely<Database>): InterestCheck {
  const requests = createShareRequestRepository(db)
  return async (dataset, unit) => await requests.unitHasInterest(dataset, unit)
}
