import type { Kysely } from 'kysely'
import type { Database, MaskingPolicy } from '../db/database.js'
import type { Principal } from '../platform/auth/plugin.js'
import { recordEvent } from '../platform/events.js'
import { PolicyVersionConflictError } from './errors.js'
import type { PolicyProfiles } from './policy.js'
import { createPolicyRepository } from './repository.js'

export interface PolicyChange {
  dataset: string
  profiles: PolicyProfiles
  reason: string
  /** the version the caller last read: another change since is a 409 */
  expectedVersion?: number
}

/** Masking policies as the office changes them: a new version each, with its event, in one transaction. */
export function createPolicyService (db: Kysely<Database>) {
  const policies = createPolicyRepository(db)
  return {
    async save ({ dataset, profiles, reason, expectedVersion }: PolicyChange, actor: Principal, requestId: string): Promise<MaskingPolicy> {
      return await db.transaction().execute(async (trx) => {
        const current = await policies.lock(dataset, trx)
        const version = (current?.version ?? 0) + 1
        if (expectedVersion !== undefined && expectedVersion !== version - 1) throw new PolicyVersionConflictError(version - 1, expectedVersion)
        const policy = await policies.save({ dataset, version, profiles, reason, by: actor.sub }, trx)
        await recordEvent(trx, {
          service: 'masking',
          action: 'masking-policy.update',
          actor,
          objectType: 'masking_policy',
          objectId: dataset,
          dataset,
          requestId,
          details: { version, reason, fields: Object.fromEntries(Object.entries(profiles).map(([p, rules]) => [p, Object.keys(rules ?? {})])) }
        })
        return policy
      })
    }
  }
}
