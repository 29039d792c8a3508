import type { Kysely } from 'kysely'
import type { Database, Dataset } from '../../db/database.js'
import type { PolicyProfiles } from '../../masking/index.js'

export interface StoredOpenRow { record_key: string, data: Record<string, unknown>, person_key: string | null, sealed: Buffer | null }

/** What the open data API reads: datasets, their policies and publishers, and records in key order. */
export function createOpenDataRepository (db: Kysely<Database>) {
  return {
    /** A dataset with its masking policy's rules (none: every field takes its default), or null. */
    async dataset (code: string): Promise<{ dataset: Dataset, profiles: PolicyProfiles } | null> {
      const [dataset, policy] = await Promise.all([
        db.selectFrom('datasets').selectAll().where('code', '=', code).executeTakeFirst(),
        db.selectFrom('masking_policies').select('profiles').where('dataset_code', '=', code).executeTakeFirst()
      ])
      return dataset ? { dataset, profiles: policy?.profiles ?? {} } : null
    },

    /** Up to `limit` records after the key `after`, in key order: a range scan of the primary key. */
    async page (code: string, { after, limit }: { after?: string | undefined, limit: number }): Promise<StoredOpenRow[]> {
      let query = db.selectFrom('records').select(['record_key', 'data', 'person_key', 'sealed'])
        .where('dataset_code', '=', code).orderBy('record_key').limit(limit)
      if (after !== undefined) query = query.where('record_key', '>', after)
      return await query.execute()
    },

    /** Names of units, by code: the publishers of the open catalog. */
    async unitNames (codes: readonly string[]): Promise<Map<string, string>> {
      if (codes.length === 0) return new Map()
      const rows = await db.selectFrom('units').select(['code', 'name']).where('code', 'in', [...new Set(codes)]).execute()
      return new Map(rows.map((r) => [r.code, r.name]))
    },

    /** When records of each dataset were last accepted (an index range of ingest_batches per dataset). */
    async lastIngest (codes: readonly string[]): Promise<Map<string, Date>> {
      if (codes.length === 0) return new Map()
      const rows = await db.selectFrom('ingest_batches')
        .select(['dataset_code', (eb) => eb.fn.max('created_at').as('at')])
        .where('dataset_code', 'in', [...codes]).where('accepted', '>', 0)
        .groupBy('dataset_code')
        .execute()
      return new Map(rows.map((r) => [r.dataset_code, new Date(r.at as unknown as string | Date)]))
    }
  }
}

export type OpenDataRepository = ReturnType<typeof createOpenDataRepository>
