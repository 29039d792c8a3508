import { sql, type Kysely } from 'kysely'
import type { Database, ExportRow, ExportStatus, NewExport } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { predicateOf } from '../data/plan.js'
import type { ReadPlan } from '../data/reader.js'

/** A job whose process has not written its heartbeat for this long is dead. */
export const STALE_SECONDS = 30

export interface ExportWithGrant extends ExportRow {
  /** the one person the grant names, or null for a unit grant */
  grant_subject: string | null
}

export interface DecoyInput { ordinal: number, position: number, cells: Record<string, { d: string, f: number, q: number }> }

/** All SQL of exports and their decoys. */
export function createExportRepository (db: Kysely<Database>) {
  const withGrant = () => db.selectFrom('exports as e').innerJoin('grants as g', 'g.id', 'e.grant_id')
    .selectAll('e').select('g.subject as grant_subject')
  /** the exports a caller sees: its unit's, and of a grant to one person only that person's */
  const visible = (principal: Principal) => withGrant()
    .where('e.consumer_unit', '=', principal.unit)
    .where((eb) => eb.or([eb('g.subject', 'is', null), eb('g.subject', '=', principal.sub)]))
  const live = sql<boolean>`status in ('queued', 'running') and heartbeat_at > now() - make_interval(secs => ${STALE_SECONDS})`

  return {
    /** Rows a read plan selects now: the grant's filter and the caller's. */
    async count (plan: ReadPlan): Promise<number> {
      const { rows } = await sql<{ n: string }>`
        select count(*) as n from records where dataset_code = ${plan.grant.dataset_code} and ${predicateOf(plan.view, plan.where.filter)}`.execute(db)
      return Number(rows[0]?.n ?? 0)
    },

    /**
     * Records a queued export unless its unit already has `concurrency` live ones (null then). One
     * unit's creations are serialised by an advisory lock, so two at once cannot both pass.
     */
    async create (values: NewExport, concurrency: number): Promise<ExportRow | null> {
      return await db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtextextended(${`exports:${values.consumer_unit}`}, 0))`.execute(trx)
        const { n } = await trx.selectFrom('exports').select((eb) => eb.fn.countAll<string>().as('n'))
          .where('consumer_unit', '=', values.consumer_unit).where(live).executeTakeFirstOrThrow()
        if (Number(n) >= concurrency) return null
        return await trx.insertInto('exports').values(values).returningAll().executeTakeFirstOrThrow()
      })
    },

    async get (id: string): Promise<ExportWithGrant | undefined> {
      return await withGrant().where('e.id', '=', id).executeTakeFirst()
    },

    async getVisible (principal: Principal, id: string): Promise<ExportWithGrant | undefined> {
      return await visible(principal).where('e.id', '=', id).executeTakeFirst()
    },

    /** Newest first. */
    async list (principal: Principal, { limit, beforeSeq, dataset, status }: { limit: number, beforeSeq?: string | undefined, dataset?: string | undefined, status?: ExportStatus | undefined }) {
      let q = visible(principal)
      if (beforeSeq !== undefined) q = q.where('e.seq', '<', beforeSeq)
      if (dataset !== undefined) q = q.where('e.dataset_code', '=', dataset)
      if (status !== undefined) q = q.where('e.status', '=', status)
      return await q.orderBy('e.seq', 'desc').limit(limit).execute()
    },

    async start (id: string): Promise<boolean> {
      const r = await db.updateTable('exports').set({ status: 'running', started_at: sql`now()` as never, heartbeat_at: sql`now()` as never })
        .where('id', '=', id).where('status', '=', 'queued').executeTakeFirst()
      return Number(r.numUpdatedRows) === 1
    },

    async progress (id: string, rowsWritten: number): Promise<void> {
      await db.updateTable('exports').set({ rows_written: rowsWritten, heartbeat_at: sql`now()` as never }).where('id', '=', id).execute()
    },

    /** This process's jobs are alive. */
    async heartbeat (ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return
      await db.updateTable('exports').set({ heartbeat_at: sql`now()` as never })
        .where('id', 'in', ids).where('status', 'in', ['queued', 'running']).execute()
    },

    /** Done: the file's size and digest, and its decoys, in one transaction. False when the job was given up meanwhile. */
    async finish (id: string, values: { rowsWritten: number, decoys: readonly DecoyInput[], bytes: number, sha256: string, fileName: string, ttlHours: number }): Promise<boolean> {
      return await db.transaction().execute(async (trx) => {
        const r = await trx.updateTable('exports').set({
          status: 'done',
          rows_written: values.rowsWritten,
          decoys: values.decoys.length,
          bytes: values.bytes,
          sha256: values.sha256,
          file_name: values.fileName,
          finished_at: sql`now()` as never,
          expires_at: sql`now() + make_interval(hours => ${values.ttlHours})` as never
        }).where('id', '=', id).where('status', '=', 'running').executeTakeFirst()
        if (Number(r.numUpdatedRows) !== 1) return false
        for (let i = 0; i < values.decoys.length; i += 500) {
          await trx.insertInto('export_decoys').values(values.decoys.slice(i, i + 500).map((d) => ({
            export_id: id, ordinal: d.ordinal, position: d.position, cells: JSON.stringify(d.cells)
          }))).execute()
        }
        return true
      })
    },

    async fail (id: string, error: string): Promise<boolean> {
      const r = await db.updateTable('exports').set({ status: 'failed', error, finished_at: sql`now()` as never })
        .where('id', '=', id).where('status', 'in', ['queued', 'running']).executeTakeFirst()
      return Number(r.numUpdatedRows) === 1
    },

    /** Jobs whose process died (every queued or running one but `except` when `all`): failed as interrupted. */
    async failDead ({ all, except }: { all: boolean, except: readonly string[] }) {
      let q = db.updateTable('exports')
        .set({ status: 'failed', error: 'interrupted: the process writing it stopped', finished_at: sql`now()` as never })
        .where('status', 'in', ['queued', 'running'])
      if (except.length > 0) q = q.where('id', 'not in', except)
      if (!all) q = q.where('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${STALE_SECONDS})`)
      return await q.returning(['id', 'grant_id', 'quota_day', 'rows_total']).execute()
    },

    /** Finished exports past their time: expired, their files to delete. */
    async expire () {
      return await db.updateTable('exports').set({ status: 'expired' })
        .where('status', '=', 'done').where('expires_at', '<', sql<Date>`now()`)
        .returning(['id', 'file_name']).execute()
    },

    /** Which of these exports may still own a file: done, or alive. */
    async keepers (ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set()
      const rows = await db.selectFrom('exports').select('id').where('id', 'in', ids)
        .where((eb) => eb.or([eb('status', '=', 'done'), live])).execute()
      return new Set(rows.map((r) => r.id))
    },

    /**
     * Exports a leaked file may come from, newest first: those whose fields hold every column of the
     * file, then (for files whose headers were renamed) the newest others, up to `limit`.
     */
    async candidates (columns: readonly string[], limit: number) {
      const holds = sql<boolean>`fields @> ${sql.val([...columns])}::text[]`
      return await db.selectFrom('exports')
        .select(['id', 'seq', 'grant_id', 'dataset_code', 'consumer_unit', 'sub', 'client', 'fields', 'rows_total', 'created_at', 'watermark_check'])
        .select(holds.as('holds_columns'))
        .where('status', 'in', ['done', 'expired'])
        .orderBy(holds, 'desc').orderBy('seq', 'desc').limit(limit).execute()
    },

    async decoysOf (ids: readonly string[]) {
      if (ids.length === 0) return []
      return await db.selectFrom('export_decoys').select(['export_id', 'ordinal', 'cells']).where('export_id', 'in', ids).execute()
    }
  }
}

export type ExportRepository = ReturnType<typeof createExportRepository>
