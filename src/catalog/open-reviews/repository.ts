import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database, Dataset, OpenReview, OpenReviewLevel, OpenReviewRound } from '../../db/database.js'
import { judgeOpen, type LaterVersion, type OpenState } from './open-state.js'

type Db = Kysely<Database> | Transaction<Database>

export interface ReviewValues {
  roundId: string
  level: OpenReviewLevel
  decision: 'approve' | 'reject'
  reason: string | null
  reviewer: { sub: string, unit: string }
}

export function createOpenReviewRepository (db: Kysely<Database>) {
  return {
    /** The round under review, if any. */
    async current (code: string, trx: Db = db): Promise<OpenReviewRound | null> {
      return await trx.selectFrom('open_review_rounds').selectAll()
        .where('dataset_code', '=', code).where('status', '=', 'in_review').executeTakeFirst() ?? null
    },

    /** Starts the next round (numbered after the last one). */
    async startRound (code: string, startedBy: string, trx: Db): Promise<OpenReviewRound> {
      return await trx.insertInto('open_review_rounds')
        .values((eb) => ({
          dataset_code: code,
          round: eb.selectFrom('open_review_rounds').select(sql<number>`coalesce(max(round), 0) + 1`.as('n')).where('dataset_code', '=', code),
          status: 'in_review',
          started_by: startedBy
        }))
        .returningAll()
        .executeTakeFirstOrThrow()
    },

    async addReview (values: ReviewValues, trx: Db): Promise<OpenReview> {
      return await trx.insertInto('open_reviews').values({
        round_id: values.roundId,
        level: values.level,
        decision: values.decision,
        reason: values.reason,
        reviewer_sub: values.reviewer.sub,
        reviewer_unit: values.reviewer.unit
      }).returningAll().executeTakeFirstOrThrow()
    },

    /** Closes a round: rejected, or approved for the dataset as it stands (its grade version and open attribute). */
    async close (id: string, outcome: { status: 'rejected' } | { status: 'approved', dataset: Dataset }, trx: Db): Promise<OpenReviewRound> {
      return await trx.updateTable('open_review_rounds')
        .set({
          status: outcome.status,
          closed_at: new Date(),
          ...(outcome.status === 'approved'
            ? { approved_grade_version: outcome.dataset.grade_version, approved_open_attribute: outcome.dataset.open_attribute }
            : {})
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
    },

    /** Rounds newest first, before round `before` when given. */
    async rounds (code: string, { limit, before }: { limit: number, before?: number }, trx: Db = db): Promise<OpenReviewRound[]> {
      let query = trx.selectFrom('open_review_rounds').selectAll().where('dataset_code', '=', code).orderBy('round', 'desc').limit(limit)
      if (before !== undefined) query = query.where('round', '<', before)
      return await query.execute()
    },

    async reviewsOf (roundIds: readonly string[], trx: Db = db): Promise<OpenReview[]> {
      if (roundIds.length === 0) return []
      return await trx.selectFrom('open_reviews').selectAll().where('round_id', 'in', roundIds).orderBy('level').execute()
    }
  }
}

export type OpenReviewRepository = ReturnType<typeof createOpenReviewRepository>

/** The latest closed round of each dataset, approved or rejected. */
async function lastClosedRounds (db: Db, codes: readonly string[]): Promise<Map<string, OpenReviewRound>> {
  if (codes.length === 0) return new Map()
  const rows = await db.selectFrom('open_review_rounds').selectAll()
    .distinctOn('dataset_code')
    .where('dataset_code', 'in', codes).where('status', '<>', 'in_review')
    .orderBy('dataset_code').orderBy('round', 'desc')
    .execute()
  return new Map(rows.map((r) => [r.dataset_code, r]))
}

/** Grade versions recorded after each dataset's approved version. */
async function versionsAfter (db: Db, approved: readonly OpenReviewRound[]): Promise<Map<string, LaterVersion[]>> {
  const out = new Map<string, LaterVersion[]>()
  if (approved.length === 0) return out
  const rows = await db.selectFrom('dataset_grade_history as h')
    .innerJoin('open_review_rounds as r', (join) => join.onRef('r.dataset_code', '=', 'h.dataset_code').onRef('h.version', '>', 'r.approved_grade_version'))
    .select(['h.dataset_code', 'h.version', 'h.open_attribute'])
    .where('r.id', 'in', approved.map((r) => r.id))
    .execute()
  for (const row of rows) out.set(row.dataset_code, [...out.get(row.dataset_code) ?? [], row])
  return out
}

async function statesOf (db: Db, datasets: readonly Dataset[]): Promise<OpenState[]> {
  const closed = await lastClosedRounds(db, datasets.map((d) => d.code))
  const later = await versionsAfter(db, [...closed.values()].filter((r) => r.status === 'approved'))
  return datasets.map((d) => judgeOpen(d, closed.get(d.code) ?? null, later.get(d.code) ?? []))
}

/** Whether the dataset is in the open catalog now, by which round and since when, or why not. */
export async function openStateOf (db: Db, dataset: Dataset): Promise<OpenState> {
  return (await statesOf(db, [dataset]))[0]!
}

/** Whether the dataset with this code is in the open catalog now (false when there is no such dataset). */
export async function isOpen (db: Db, code: string): Promise<boolean> {
  const dataset = await db.selectFrom('datasets').selectAll().where('code', '=', code).executeTakeFirst()
  return dataset !== undefined && (await openStateOf(db, dataset)).open
}

export interface OpenDataset {
  dataset: Dataset
  /** the review round that opened it and when the leading group approved it */
  round: number
  since: Date
}

/** Every dataset in the open catalog now, ordered by code (for `/open/v1/catalog`). */
export async function openDatasets (db: Db): Promise<OpenDataset[]> {
  const candidates = await db.selectFrom('datasets').selectAll()
    .where('status', '=', 'published').where('open_attribute', '<>', 'none')
    .where(({ exists, selectFrom }) => exists(selectFrom('open_review_rounds as r').select('r.id')
      .whereRef('r.dataset_code', '=', 'datasets.code').where('r.status', '=', 'approved')))
    .orderBy('code')
    .execute()
  const states = await statesOf(db, candidates)
  return candidates.flatMap((dataset, i) => {
    const state = states[i]!
    return state.open ? [{ dataset, round: state.round!, since: state.since! }] : []
  })
}
