import type { Kysely, Transaction } from 'kysely'
import type { Database, MaskingPolicy, MaskingPolicyVersion } from '../db/database.js'
import type { PolicyProfiles } from './policy.js'

type Db = Kysely<Database> | Transaction<Database>

/** Masking policies and their versions: every SQL statement of the masking service. */
export function createPolicyRepository (db: Kysely<Database>) {
  return {
    async find (dataset: string, trx: Db = db): Promise<MaskingPolicy | null> {
      return await trx.selectFrom('masking_policies').selectAll().where('dataset_code', '=', dataset).executeTakeFirst() ?? null
    },

    /** Locks the current version for an update in the same transaction. */
    async lock (dataset: string, trx: Transaction<Database>): Promise<MaskingPolicy | null> {
      return await trx.selectFrom('masking_policies').selectAll().where('dataset_code', '=', dataset).forUpdate().executeTakeFirst() ?? null
    },

    /** Writes the next version as current and into the history. */
    async save (input: { dataset: string, version: number, profiles: PolicyProfiles, reason: string, by: string }, trx: Transaction<Database>): Promise<MaskingPolicy> {
      const profiles = JSON.stringify(input.profiles)
      await trx.insertInto('masking_policy_versions').values({
        dataset_code: input.dataset, version: input.version, profiles, reason: input.reason, changed_by: input.by
      }).execute()
      return await trx.insertInto('masking_policies')
        .values({ dataset_code: input.dataset, version: input.version, profiles, updated_by: input.by })
        .onConflict((oc) => oc.column('dataset_code').doUpdateSet({ version: input.version, profiles, updated_by: input.by, updated_at: new Date() }))
        .returningAll()
        .executeTakeFirstOrThrow()
    },

    /** Versions newest first, below `before` when paging. */
    async versions (dataset: string, { limit, before }: { limit: number, before?: number }, trx: Db = db): Promise<MaskingPolicyVersion[]> {
      let query = trx.selectFrom('masking_policy_versions').selectAll().where('dataset_code', '=', dataset).orderBy('version', 'desc').limit(limit)
      if (before !== undefined) query = query.where('version', '<', before)
      return await query.execute()
    }
  }
}

export type PolicyRepository = ReturnType<typeof createPolicyRepository>
