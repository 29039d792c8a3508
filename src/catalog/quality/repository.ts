import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database, StoredField } from '../../db/database.js'

type Db = Kysely<Database> | Transaction<Database>

const num = (value: unknown): number => value === null || value === undefined ? 0 : Number(value)
const date = (value: unknown): Date | null => value === null || value === undefined ? null : new Date(value as Date | string)

export interface BatchCounts { batches: number, received: number, accepted: number, rejected: number }

const counts = (row: { batches: unknown, received: unknown, accepted: unknown, rejected: unknown }): BatchCounts => ({
  batches: num(row.batches), received: num(row.received), accepted: num(row.accepted), rejected: num(row.rejected)
})

/**
 * The measurements behind quality and retention reports. Each query reads one dataset's slice
 * through an index of migration 0003: the primary key (row count), records_person_idx (persons),
 * records_created_idx (retention), ingest_batches_dataset_idx (validity, freshness).
 */
export function createQualityRepository (db: Kysely<Database>) {
  return {
    /** Runs `fn` in one read-only snapshot, so that the figures of a report agree with each other. */
    async snapshot<T> (fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
      return await db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(fn)
    },

    /** Row, person and retention counts; each scalar subquery has its own (index) plan. */
    async recordStats (code: string, cutoff: Date, trx: Db = db) {
      const { rows, with_key: withKey, persons, expired, oldest } = await sql<Record<string, unknown>>`
        select
          (select count(*) from records where dataset_code = ${code}) as rows,
          (select count(*) from records where dataset_code = ${code} and person_key is not null) as with_key,
          (select count(distinct person_key) from records where dataset_code = ${code} and person_key is not null) as persons,
          (select count(*) from records where dataset_code = ${code} and created_at < ${cutoff}) as expired,
          (select min(created_at) from records where dataset_code = ${code}) as oldest
      `.execute(trx).then((r) => r.rows[0]!)
      return { rows: num(rows), rowsWithPersonKey: num(withKey), persons: num(persons), expiredRows: num(expired), oldestCreatedAt: date(oldest) }
    },

    /**
     * Records with a non-null, non-empty value, per field, in one pass over `data`; over a
     * TABLESAMPLE SYSTEM (whole pages) of the records table when `samplePercent` is given.
     */
    async completeness (code: string, fields: readonly StoredField[], samplePercent: number | null, trx: Db = db) {
      const source = samplePercent === null
        ? sql`records`
        : sql`records tablesample system (${samplePercent}::real)`
      const filled = fields.map((f, i) => sql`count(*) filter (where data->>${f.name} <> '') as ${sql.ref(`f${i}`)}`)
      const row = await sql<Record<string, unknown>>`
        select ${sql.join([sql`count(*) as basis`, ...filled])} from ${source} where dataset_code = ${code}
      `.execute(trx).then((r) => r.rows[0]!)
      return { basisRows: num(row.basis), filled: fields.map((_, i) => num(row[`f${i}`])) }
    },

    /** Batch totals of all time and of the window, and the last batch that accepted anything. */
    async batchTotals (code: string, since: Date, trx: Db = db) {
      const row = await trx.selectFrom('ingest_batches')
        .where('dataset_code', '=', code)
        .select((eb) => [
          eb.fn.countAll().as('batches'),
          eb.fn.sum('received').as('received'),
          eb.fn.sum('accepted').as('accepted'),
          eb.fn.sum('rejected').as('rejected'),
          eb.fn.countAll().filterWhere('created_at', '>=', since).as('w_batches'),
          eb.fn.sum('received').filterWhere('created_at', '>=', since).as('w_received'),
          eb.fn.sum('accepted').filterWhere('created_at', '>=', since).as('w_accepted'),
          eb.fn.sum('rejected').filterWhere('created_at', '>=', since).as('w_rejected'),
          eb.fn.max('created_at').filterWhere('accepted', '>', 0).as('last_ingest_at')
        ])
        .executeTakeFirstOrThrow()
      return {
        allTime: counts(row),
        window: counts({ batches: row.w_batches, received: row.w_received, accepted: row.w_accepted, rejected: row.w_rejected }),
        lastIngestAt: date(row.last_ingest_at)
      }
    },

    /** Batch totals per UTC day since `since`, oldest first; days without batches are left out. */
    async daily (code: string, since: Date, trx: Db = db) {
      const day = sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`
      const rows = await trx.selectFrom('ingest_batches')
        .where('dataset_code', '=', code)
        .where('created_at', '>=', since)
        .select((eb) => [
          day.as('day'),
          eb.fn.countAll().as('batches'),
          eb.fn.sum('received').as('received'),
          eb.fn.sum('accepted').as('accepted'),
          eb.fn.sum('rejected').as('rejected')
        ])
        .groupBy(day)
        .orderBy(day)
        .execute()
      return rows.map((r) => ({ day: r.day, ...counts(r) }))
    },

    /** The fields that rejections named most often since `since` (batches count errors by field). */
    async topRejectedFields (code: string, since: Date, limit: number, trx: Db = db) {
      const { rows } = await sql<{ field: string, errors: unknown }>`
        select e.key as field, sum(case when jsonb_typeof(e.value) = 'number' then (e.value)::numeric else 0 end) as errors
        from ingest_batches b cross join lateral jsonb_each(case when jsonb_typeof(b.errors) = 'object' then b.errors else '{}'::jsonb end) e
        where b.dataset_code = ${code} and b.created_at >= ${since}
        group by e.key
        having sum(case when jsonb_typeof(e.value) = 'number' then (e.value)::numeric else 0 end) > 0
        order by errors desc, field
        limit ${limit}
      `.execute(trx)
      return rows.map((r) => ({ field: r.field, errors: num(r.errors) }))
    },

    /** Batches since `since` that rejected more than `rate` of what they received, newest first. */
    async rejectingBatches (code: string, since: Date, rate: number, limit: number, trx: Db = db) {
      const rows = await trx.selectFrom('ingest_batches')
        .select(['id', 'created_at', 'received', 'rejected'])
        .where('dataset_code', '=', code)
        .where('created_at', '>=', since)
        .where('received', '>', 0)
        .where(sql<boolean>`rejected > received * ${rate}::float8`)
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute()
      return rows.map((r) => ({ id: r.id, at: r.created_at, received: r.received, rejected: r.rejected }))
    },

    /**
     * Datasets holding records first stored before `now − retention_days`, by code after `after`:
     * one range scan of records_created_idx per dataset.
     */
    async expired (now: Date, { limit, after }: { limit: number, after?: string }, trx: Db = db) {
      let query = trx.selectFrom('datasets as d')
        .innerJoinLateral((eb) => eb.selectFrom('records as r')
          .select((eb) => [eb.fn.countAll().as('expired'), eb.fn.min('r.created_at').as('oldest')])
          .whereRef('r.dataset_code', '=', 'd.code')
          .where('r.created_at', '<', sql<Date>`${now}::timestamptz - make_interval(days => d.retention_days)`)
          .as('x'), (join) => join.onTrue())
        .select(['d.code', 'd.producer_unit', 'd.retention_days', 'x.expired', 'x.oldest'])
        .where('x.expired', '>', 0)
        .orderBy('d.code')
        .limit(limit)
      if (after !== undefined) query = query.where('d.code', '>', after)
      const rows = await query.execute()
      return rows.map((r) => ({
        code: r.code, producerUnit: r.producer_unit, retentionDays: r.retention_days, expiredRows: num(r.expired), oldestCreatedAt: date(r.oldest)
      }))
    }
  }
}

export type QualityRepository = ReturnType<typeof createQualityRepository>
