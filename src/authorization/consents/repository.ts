import { sql, type Insertable, type Kysely, type Transaction } from 'kysely'
import type { Consent, ConsentTable, Database } from '../../db/database.js'
import type { CONSENT_KINDS, CONSENT_STATUSES } from './schemas.js'

type Db = Kysely<Database> | Transaction<Database>

export type NewConsent = Insertable<ConsentTable>

export interface ConsentFilter {
  limit: number
  /** the seq of the last row of the previous page (newest first) */
  beforeSeq?: string
  /** one unit's consents; absent: every unit's */
  unit?: string
  person?: string
  dataset?: string
  purposeCode?: string
  kind?: typeof CONSENT_KINDS[number]
  /** `active` and `expired` are judged against `now` */
  status?: typeof CONSENT_STATUSES[number]
  now: Date
}

export function createConsentRepository (db: Kysely<Database>) {
  return {
    async insert (values: NewConsent, trx: Db = db): Promise<Consent> {
      return await trx.insertInto('consents').values(values).returningAll().executeTakeFirstOrThrow()
    },

    /** Many consents in multi-row statements (a statement holds at most 65,535 parameters); how many were recorded. */
    async insertMany (values: readonly NewConsent[], trx: Db = db): Promise<number> {
      let n = 0
      for (let i = 0; i < values.length; i += 1000) {
        const r = await trx.insertInto('consents').values(values.slice(i, i + 1000)).executeTakeFirst()
        n += Number(r.numInsertedOrUpdatedRows ?? 0)
      }
      return n
    },

    /** The consent; with `lock`, its row is locked for the rest of the transaction. */
    async find (id: string, trx: Db = db, { lock = false } = {}): Promise<Consent | null> {
      let q = trx.selectFrom('consents').selectAll().where('id', '=', id)
      if (lock) q = q.forUpdate()
      return await q.executeTakeFirst() ?? null
    },

    /** The consents of the given ids that exist, in no particular order (callers check each id). */
    async findMany (ids: readonly string[], trx: Db = db): Promise<Consent[]> {
      if (ids.length === 0) return []
      return await trx.selectFrom('consents').selectAll().where('id', 'in', ids).execute()
    },

    async list (filter: ConsentFilter, trx: Db = db): Promise<Consent[]> {
      let q = trx.selectFrom('consents').selectAll()
      if (filter.unit !== undefined) q = q.where('unit_code', '=', filter.unit)
      if (filter.person !== undefined) q = q.where('person_key', '=', filter.person)
      if (filter.dataset !== undefined) q = q.where('dataset_code', '=', filter.dataset)
      if (filter.purposeCode !== undefined) q = q.where('purpose_code', '=', filter.purposeCode)
      if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind)
      if (filter.status === 'withdrawn') q = q.where('status', '=', 'withdrawn')
      if (filter.status === 'expired') q = q.where('status', '=', 'active').where('expires_at', '<=', filter.now)
      if (filter.status === 'active') {
        q = q.where('status', '=', 'active').where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', filter.now)]))
      }
      if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq)
      return await q.orderBy('seq', 'desc').limit(filter.limit).execute()
    },

    async withdraw (id: string, reason: string, trx: Db = db): Promise<Consent> {
      return await trx.updateTable('consents')
        .set({ status: 'withdrawn', withdrawn_at: sql<Date>`now()`, withdrawal_reason: reason })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    }
  }
}

export type ConsentRepository = ReturnType<typeof createConsentRepository>
