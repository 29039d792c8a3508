import { sql, type Kysely, type Transaction } from 'kysely'
import type { BusinessSystem, Database } from '../../db/database.js'
import type { Status } from '../../platform/vocabulary.js'
import type { SystemView, UpdateSystem } from './schemas.js'

type Db = Kysely<Database> | Transaction<Database>

const DAY_MS = 86_400_000

/** Dataset statuses a system can feed: the catalog's live entries. */
export const LIVE_STATUSES: Status[] = ['draft', 'published']

export interface DatasetState { code: string, name: string, producer_unit: string, status: Status }

/** The API shape of a registration; `overdue` is judged against `now` and the review period. */
export function toSystemView (row: BusinessSystem, reviewDays: number, now = new Date()): SystemView {
  const due = new Date(row.confirmed_at.getTime() + reviewDays * DAY_MS)
  return {
    id: row.id,
    unit: row.unit_code,
    name: row.name,
    description: row.description,
    owner: { name: row.owner_name, contact: row.owner_contact },
    datasets: row.datasets,
    confirmedAt: row.confirmed_at.toISOString(),
    confirmedBy: row.confirmed_by,
    confirmationDue: due.toISOString(),
    overdue: due.getTime() < now.getTime(),
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
}

/** The instant before which a confirmation is overdue. */
export function reviewCutoff (reviewDays: number, now = new Date()): Date {
  return new Date(now.getTime() - reviewDays * DAY_MS)
}

export interface SystemValues {
  unit: string
  name: string
  description: string | null
  owner: { name: string, contact: string }
  datasets: string[]
  actor: string
}

export interface SystemFilter {
  limit: number
  /** the (unit, name) of the last row of the previous page */
  after?: [string, string]
  unit?: string
  dataset?: string
  /** with `overdueBefore`: true keeps overdue systems only, false the others */
  overdue?: boolean
  overdueBefore?: Date
}

/** SQLSTATE of a unique violation: the (unit, name) pair is taken. */
export function isNameTaken (err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23505'
}

export function createSystemRepository (db: Kysely<Database>) {
  return {
    /** Inserts the registration (confirmed now, by its registrar); null when the unit has a system of that name. */
    async create (values: SystemValues, trx: Db = db): Promise<BusinessSystem | null> {
      const row = await trx.insertInto('business_systems')
        .values({
          unit_code: values.unit,
          name: values.name,
          description: values.description,
          owner_name: values.owner.name,
          owner_contact: values.owner.contact,
          datasets: values.datasets,
          confirmed_by: values.actor,
          created_by: values.actor
        })
        .onConflict((oc) => oc.columns(['unit_code', 'name']).doNothing())
        .returningAll()
        .executeTakeFirst()
      return row ?? null
    },

    async find (id: string, trx: Db = db): Promise<BusinessSystem | null> {
      return await trx.selectFrom('business_systems').selectAll().where('id', '=', id).executeTakeFirst() ?? null
    },

    /** The row, locked for the rest of the transaction (changes to one system are serialised). */
    async findForUpdate (id: string, trx: Transaction<Database>): Promise<BusinessSystem | null> {
      return await trx.selectFrom('business_systems').selectAll().where('id', '=', id).forUpdate().executeTakeFirst() ?? null
    },

    async list (filter: SystemFilter, trx: Db = db): Promise<BusinessSystem[]> {
      let query = trx.selectFrom('business_systems').selectAll().orderBy('unit_code').orderBy('name').limit(filter.limit)
      const after = filter.after
      if (after !== undefined) {
        query = query.where((eb) => eb(eb.refTuple('unit_code', 'name'), '>', eb.tuple(after[0], after[1])))
      }
      if (filter.unit !== undefined) query = query.where('unit_code', '=', filter.unit)
      if (filter.dataset !== undefined) query = query.where(sql<boolean>`${filter.dataset} = any(datasets)`)
      if (filter.overdue !== undefined && filter.overdueBefore !== undefined) {
        query = query.where('confirmed_at', filter.overdue ? '<' : '>=', filter.overdueBefore)
      }
      return await query.execute()
    },

    /** Every registration of a unit, or of all units (the consistency check). */
    async all (unit: string | null, trx: Db = db): Promise<BusinessSystem[]> {
      let query = trx.selectFrom('business_systems').selectAll().orderBy('unit_code').orderBy('name')
      if (unit !== null) query = query.where('unit_code', '=', unit)
      return await query.execute()
    },

    /** Applies the changes; throws a unique violation (see isNameTaken) when the new name is taken. */
    async update (id: string, changes: UpdateSystem, trx: Db = db): Promise<BusinessSystem> {
      return await trx.updateTable('business_systems')
        .set({
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.owner !== undefined ? { owner_name: changes.owner.name, owner_contact: changes.owner.contact } : {}),
          ...(changes.datasets !== undefined ? { datasets: changes.datasets } : {}),
          updated_at: new Date()
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
    },

    async confirm (id: string, actor: string, trx: Db = db): Promise<BusinessSystem> {
      const now = new Date()
      return await trx.updateTable('business_systems')
        .set({ confirmed_at: now, confirmed_by: actor, updated_at: now })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
    },

    async remove (id: string, trx: Db = db): Promise<void> {
      await trx.deleteFrom('business_systems').where('id', '=', id).execute()
    },

    /** Producer and status of the given dataset codes (those that exist). */
    async datasetStates (codes: readonly string[], trx: Db = db): Promise<DatasetState[]> {
      if (codes.length === 0) return []
      return await trx.selectFrom('datasets').select(['code', 'name', 'producer_unit', 'status'])
        .where('code', 'in', codes).execute()
    },

    /** Live datasets (of one unit, or of all) that no system of their producer unit lists. */
    async datasetsWithoutSystem (unit: string | null, trx: Db = db): Promise<DatasetState[]> {
      let query = trx.selectFrom('datasets as d').select(['d.code', 'd.name', 'd.producer_unit', 'd.status'])
        .where('d.status', 'in', LIVE_STATUSES)
        .where(({ not, exists, selectFrom }) => not(exists(
          selectFrom('business_systems as s').select('s.id')
            .whereRef('s.unit_code', '=', 'd.producer_unit')
            .where(sql<boolean>`d.code = any(s.datasets)`)
        )))
        .orderBy('d.producer_unit').orderBy('d.code')
      if (unit !== null) query = query.where('d.producer_unit', '=', unit)
      return await query.execute()
    }
  }
}

export type SystemRepository = ReturnType<typeof createSystemRepository>
