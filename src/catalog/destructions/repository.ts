import { randomBytes } from 'node:crypto'
import { sql, type Kysely, type RawBuilder, type Transaction, type Updateable } from 'kysely'
import type {
  Database, Destruction, DestructionCertificateRow, DestructionReview, DestructionStatus, DestructionTable, NewDestruction
} from '../../db/database.js'

type Db = Kysely<Database> | Transaction<Database>

export const OPEN_STATUSES: readonly DestructionStatus[] = ['pending_review', 'approved', 'witnessed']
/** records fetched, hashed and deleted per statement while a destruction executes */
export const DELETE_CHUNK = 5000

export interface DestructionFilter {
  limit: number
  beforeSeq?: string
  /** a unit's stewards see the proposals on their unit's datasets only */
  producerUnit?: string
  status?: DestructionStatus
  scope?: Destruction['scope']
  dataset?: string
}

export interface KeyVisitor {
  /** called with each chunk of the keys in scope, in byte order, before they are deleted */
  (keys: readonly string[]): void
}

/** What a new proposal has not had yet: a decision, a witness, an execution. */
const UNDECIDED = { decision_reason: null, witness_sub: null, witness_unit: null, witness_note: null, executed_by: null, executed_unit: null } as const
export type NewProposal = Omit<NewDestruction, keyof typeof UNDECIDED>

export function createDestructionRepository (db: Kysely<Database>) {
  return {
    async insert (values: NewProposal, trx: Db = db): Promise<Destruction> {
      return await trx.insertInto('destructions').values({ ...values, ...UNDECIDED }).returningAll().executeTakeFirstOrThrow()
    },

    /**
     * Opens an `expired` proposal unless the dataset already has an open one (the partial unique
     * index decides, also against a proposal filed at the same moment). Null when there was one.
     */
    async insertExpiredUnlessOpen (values: NewProposal, trx: Db = db): Promise<Destruction | null> {
      return await trx.insertInto('destructions').values({ ...values, ...UNDECIDED })
        .onConflict((oc) => oc.column('dataset_code')
          .where('scope', '=', 'expired')
          .where('status', 'in', [...OPEN_STATUSES])
          .doNothing())
        .returningAll().executeTakeFirst() ?? null
    },

    async find (id: string, trx: Db = db, { lock = false } = {}): Promise<Destruction | undefined> {
      let q = trx.selectFrom('destructions').selectAll().where('id', '=', id)
      if (lock) q = q.forUpdate()
      return await q.executeTakeFirst()
    },

    async openExpired (dataset: string, trx: Db = db): Promise<Destruction | undefined> {
      return await trx.selectFrom('destructions').selectAll()
        .where('dataset_code', '=', dataset).where('scope', '=', 'expired').where('status', 'in', [...OPEN_STATUSES])
        .executeTakeFirst()
    },

    async list (filter: DestructionFilter, trx: Db = db): Promise<Destruction[]> {
      let q = trx.selectFrom('destructions').selectAll().orderBy('seq', 'desc').limit(filter.limit)
      if (filter.producerUnit !== undefined) q = q.where('producer_unit', '=', filter.producerUnit)
      if (filter.status !== undefined) q = q.where('status', '=', filter.status)
      if (filter.scope !== undefined) q = q.where('scope', '=', filter.scope)
      if (filter.dataset !== undefined) q = q.where('dataset_code', '=', filter.dataset)
      if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq)
      return await q.execute()
    },

    async update (id: string, changes: Omit<Updateable<DestructionTable>, 'updated_at'>, trx: Db): Promise<Destruction> {
      return await trx.updateTable('destructions').set({ ...changes, updated_at: sql`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    },

    async addReview (review: Omit<DestructionReview, 'reviewed_at'>, trx: Db): Promise<DestructionReview> {
      return await trx.insertInto('destruction_reviews').values(review).returningAll().executeTakeFirstOrThrow()
    },

    async reviewsOf (ids: readonly string[], trx: Db = db): Promise<DestructionReview[]> {
      if (ids.length === 0) return []
      return await trx.selectFrom('destruction_reviews').selectAll().where('destruction_id', 'in', ids).orderBy('reviewed_at').execute()
    },

    async insertCertificate (row: Omit<DestructionCertificateRow, 'issued_at' | 'content'> & { content: object }, trx: Db): Promise<DestructionCertificateRow> {
      return await trx.insertInto('destruction_certificates').values({ ...row, content: JSON.stringify(row.content) })
        .returningAll().executeTakeFirstOrThrow()
    },

    async certificateOf (destructionId: string, trx: Db = db): Promise<DestructionCertificateRow | undefined> {
      return await trx.selectFrom('destruction_certificates').selectAll().where('destruction_id', '=', destructionId).executeTakeFirst()
    },

    async certificatesOf (ids: readonly string[], trx: Db = db): Promise<Pick<DestructionCertificateRow, 'id' | 'destruction_id' | 'digest_sha256' | 'digest_sm3'>[]> {
      if (ids.length === 0) return []
      return await trx.selectFrom('destruction_certificates').select(['id', 'destruction_id', 'digest_sha256', 'digest_sm3'])
        .where('destruction_id', 'in', ids).execute()
    },

    /** Records of a dataset the predicate selects. */
    async countInScope (dataset: string, predicate: RawBuilder<boolean>, trx: Db = db): Promise<number> {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from records where dataset_code = ${dataset} and ${predicate}`.execute(trx)
      return rows[0]!.n
    },

    /**
     * Deletes the records of a dataset the predicate selects, in the caller's transaction, a chunk
     * per statement (each well inside the statement timeout, however large the dataset): a cursor
     * reads their keys in byte order, each chunk is shown to `visit` and then deleted. The caller
     * holds the dataset's row lock, so no batch changes the set meanwhile. Returns the count.
     */
    async deleteInScope (dataset: string, predicate: RawBuilder<boolean>, visit: KeyVisitor, trx: Transaction<Database>): Promise<number> {
      const cursor = sql.id(`destruction_${randomBytes(6).toString('hex')}`)
      await sql`declare ${cursor} no scroll cursor for
        select record_key from records where dataset_code = ${dataset} and ${predicate} order by record_key collate "C"`.execute(trx)
      let deleted = 0
      for (;;) {
        const { rows } = await sql<{ record_key: string }>`fetch forward ${sql.raw(String(DELETE_CHUNK))} from ${cursor}`.execute(trx)
        if (rows.length === 0) break
        const keys = rows.map((r) => r.record_key)
        visit(keys)
        const result = await trx.deleteFrom('records').where('dataset_code', '=', dataset).where('record_key', 'in', keys).executeTakeFirst()
        deleted += Number(result.numDeletedRows)
      }
      await sql`close ${cursor}`.execute(trx)
      return deleted
    },

    /** The grants on a dataset not yet revoked, locked for the rest of the transaction. */
    /**
     * The finished exports of a destroyed dataset: expired now, so that no file of it is given out
     * again and the gateways' file sweep deletes the files (export jobs still running stop on their
     * next batch, their grant being revoked). Traces of them keep working from what the rows hold.
     */
    async expireExportsOf (dataset: string, trx: Transaction<Database>): Promise<number> {
      const expired = await trx.updateTable('exports').set({ status: 'expired', expires_at: sql<Date>`now()` })
        .where('dataset_code', '=', dataset).where('status', '=', 'done').returning('id').execute()
      return expired.length
    },

    /** The data key of a dataset as it stands (no key material): whether there is a live one to shred. */
    async dataKeyOf (dataset: string, trx: Db = db) {
      return await trx.selectFrom('data_keys').select(['suite', 'master_fingerprint', 'destroyed_at'])
        .where('dataset_code', '=', dataset).executeTakeFirst()
    }
  }
}

export type DestructionRepository = ReturnType<typeof createDestructionRepository>
