import type { Kysely, Transaction } from 'kysely'
import { containsPattern } from '../../platform/like.js'
import type { Database, Unit } from '../../db/database.js'
import type { CreateUnit, UnitView, UpdateUnit } from './schemas.js'

type Db = Kysely<Database> | Transaction<Database>

export function toUnitView (row: Unit): UnitView {
  return {
    code: row.code,
    name: row.name,
    officer: { name: row.officer_name, contact: row.officer_contact },
    description: row.description,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
}

export function createUnitRepository (db: Kysely<Database>) {
  return {
    /** Inserts the unit; null when the code is taken. */
    async create (input: CreateUnit, trx: Db = db): Promise<Unit | null> {
      const row = await trx.insertInto('units')
        .values({
          code: input.code,
          name: input.name,
          officer_name: input.officer.name,
          officer_contact: input.officer.contact,
          description: input.description ?? null
        })
        .onConflict((oc) => oc.column('code').doNothing())
        .returningAll()
        .executeTakeFirst()
      return row ?? null
    },

    async find (code: string, trx: Db = db): Promise<Unit | null> {
      return await trx.selectFrom('units').selectAll().where('code', '=', code).executeTakeFirst() ?? null
    },

    async list ({ limit, after, q }: { limit: number, after?: string, q?: string }, trx: Db = db): Promise<Unit[]> {
      let query = trx.selectFrom('units').selectAll().orderBy('code').limit(limit)
      if (after !== undefined) query = query.where('code', '>', after)
      if (q !== undefined) {
        const pattern = containsPattern(q)
        query = query.where((eb) => eb.or([eb('code', 'ilike', pattern), eb('name', 'ilike', pattern)]))
      }
      return await query.execute()
    },

    /** Applies the changes; null when there is no such unit. */
    async update (code: string, changes: UpdateUnit, trx: Db = db): Promise<Unit | null> {
      const row = await trx.updateTable('units')
        .set({
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.officer !== undefined ? { officer_name: changes.officer.name, officer_contact: changes.officer.contact } : {}),
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          updated_at: new Date()
        })
        .where('code', '=', code)
        .returningAll()
        .executeTakeFirst()
      return row ?? null
    }
  }
}

export type UnitRepository = ReturnType<typeof createUnitRepository>
