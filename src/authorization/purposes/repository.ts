import { sql, type Insertable, type Kysely, type Transaction, type Updateable } from 'kysely'
import type { Database, Purpose, PurposeTable } from '../../db/database.js'
import { FieldError } from '../../platform/errors.js'

type Db = Kysely<Database> | Transaction<Database>

/** All SQL of purposes. */
export function createPurposeRepository (db: Kysely<Database>) {
  return {
    /** The new purpose, or null when its code is taken. */
    async insert (values: Insertable<PurposeTable>, trx: Db = db): Promise<Purpose | null> {
      return await trx.insertInto('purposes').values(values).onConflict((oc) => oc.column('code').doNothing())
        .returningAll().executeTakeFirst() ?? null
    },

    async find (code: string, trx: Db = db, { lock = false } = {}): Promise<Purpose | null> {
      let q = trx.selectFrom('purposes').selectAll().where('code', '=', code)
      if (lock) q = q.forUpdate()
      return await q.executeTakeFirst() ?? null
    },

    async update (code: string, values: Updateable<PurposeTable>, trx: Db = db): Promise<Purpose> {
      return await trx.updateTable('purposes').set({ ...values, updated_at: sql`now()` }).where('code', '=', code).returningAll().executeTakeFirstOrThrow()
    },

    /** By code, after `after`. */
    async list ({ limit, after, retired }: { limit: number, after?: string | undefined, retired?: boolean | undefined }, trx: Db = db): Promise<Purpose[]> {
      let q = trx.selectFrom('purposes').selectAll()
      if (after !== undefined) q = q.where('code', '>', after)
      if (retired !== undefined) q = q.where('retired_at', retired ? 'is not' : 'is', null)
      return await q.orderBy('code').limit(limit).execute()
    }
  }
}

/**
 * The purpose a consent or a share request names, checked: it exists and is not retired, or a 400
 * naming `field`.
 */
export async function purposeInUse (trx: Db, code: string, field = 'purposeCode'): Promise<Purpose> {
  const p = await trx.selectFrom('purposes').selectAll().where('code', '=', code).executeTakeFirst()
  if (!p) throw new FieldError(field, `no purpose with code ${code}: the office keeps the list (GET /api/v1/purposes)`)
  if (p.retired_at !== null) throw new FieldError(field, `purpose ${code} is retired: name a purpose in use`)
  return p
}
