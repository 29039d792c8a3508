import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { campusToday } from '../../platform/calendar.js'

interface Usage {
  /** rows of this grant and day known to be recorded in grant_usage (by every process) */
  shared: number
  /** rows this process served and has not written yet */
  pending: number
  /** rows this process served that a sync is writing now (in neither `shared` nor `pending` until it returns) */
  inflight: number
  /** when `shared` was last read */
  syncedAt: number
  /** when a read last reserved rows */
  usedAt: number
}

/**
 * Daily row quotas of grants. Each process counts the rows it serves per grant and campus day in
 * memory, so a read costs no extra round trip, and every `syncMs` adds its counts to the shared
 * `grant_usage` table and reads back the totals of all processes. Within one process the quota is
 * exact; across processes it can be passed by what the others served since their last sync (a
 * fraction of a second of traffic).
 */
export function createQuotaCounter (db: Kysely<Database>, { syncMs = 250 }: { syncMs?: number } = {}) {
  const usage = new Map<string, Usage>()
  let timer: NodeJS.Timeout | undefined
  let syncing: Promise<void> | null = null
  const keyOf = (grantId: string, day: string) => `${grantId}|${day}`

  async function load (grantId: string, day: string): Promise<Usage> {
    const key = keyOf(grantId, day)
    let u = usage.get(key)
    // while a sync writes this grant's rows, the total it returns refreshes `shared`: a read now
    // could not tell whether the written rows are in it yet
    if (!u || (u.inflight === 0 && Date.now() - u.syncedAt > syncMs * 4)) {
      const row = await db.selectFrom('grant_usage').select('rows').where('grant_id', '=', grantId).where('day', '=', day).executeTakeFirst()
      u = usage.get(key) ?? { shared: 0, pending: 0, inflight: 0, syncedAt: 0, usedAt: 0 }
      if (u.inflight === 0) u.shared = Math.max(u.shared, Number(row?.rows ?? 0))
      u.syncedAt = Date.now()
      usage.set(key, u)
    }
    return u
  }

  /** Writes what this process served and refreshes the totals of the grants it counts. */
  async function sync (): Promise<void> {
    // what this process served, and the totals of grants read lately (others may be reading them too)
    const recent = Date.now() - syncMs * 8
    const entries = [...usage.entries()].filter(([, u]) => u.pending !== 0 || u.usedAt >= recent)
    if (entries.length === 0) return
    const today = campusToday()
    const batch = entries.map(([k, u]) => ({ k, g: k.slice(0, k.indexOf('|')), d: k.slice(k.indexOf('|') + 1), n: u.pending }))
    for (const b of batch) { const u = usage.get(b.k)!; u.pending -= b.n; u.inflight += b.n }
    try {
      const rows = await sql<{ grant_id: string, day: string, rows: string }>`
        insert into grant_usage as u (grant_id, day, rows)
        select r.g::uuid, r.d::date, r.n from jsonb_to_recordset(${JSON.stringify(batch)}::jsonb) as r(g text, d text, n bigint)
        on conflict (grant_id, day) do update set rows = u.rows + excluded.rows, updated_at = now()
        returning grant_id, day::text as day, rows::text as rows`.execute(db)
      const now = Date.now()
      for (const r of rows.rows) {
        const u = usage.get(keyOf(r.grant_id, r.day))
        if (u) { u.shared = Number(r.rows); u.syncedAt = now }
      }
      for (const b of batch) { const u = usage.get(b.k); if (u) u.inflight -= b.n }
    } catch (err) {
      for (const b of batch) { const u = usage.get(b.k); if (u) { u.pending += b.n; u.inflight -= b.n } }
      throw err
    }
    // days gone by are forgotten once written
    for (const [k, u] of usage) {
      if (u.pending === 0 && u.inflight === 0 && k.slice(k.indexOf('|') + 1) !== today) usage.delete(k)
    }
    if (usage.size > 50_000) for (const [k, u] of usage) if (u.pending === 0 && u.inflight === 0) usage.delete(k)
  }

  // one sync at a time: the totals one returns must not be overwritten by an older one's
  let chain: Promise<void> = Promise.resolve()
  function runSync (): Promise<void> {
    const run = chain.then(sync)
    chain = run.catch(() => {})
    return run
  }

  return {
    start () {
      timer = setInterval(() => {
        if (syncing) return
        syncing = runSync().catch(() => {}).finally(() => { syncing = null })
      }, syncMs)
      timer.unref()
    },
    async stop () {
      clearInterval(timer)
      await runSync().catch(() => {})
    },
    /** writes now (tests, shutdown) */
    async flush () {
      await runSync()
    },
    /**
     * Reserves up to `want` rows of a grant's quota for a campus day: how many may be served (0 when
     * the quota is used up). Concurrent reads of one process never pass the quota together. What is
     * not served is given back with `release`.
     */
    async reserve (grantId: string, day: string, quota: number, want: number): Promise<number> {
      const u = await load(grantId, day)
      const allowed = Math.max(0, Math.min(want, quota - u.shared - u.inflight - u.pending))
      u.pending += allowed
      u.usedAt = Date.now()
      return allowed
    },
    release (grantId: string, day: string, rows: number) {
      const u = usage.get(keyOf(grantId, day))
      if (u && rows > 0) u.pending -= rows
    },
    /** rows of a grant and day counted so far (this process's view) */
    async used (grantId: string, day: string): Promise<number> {
      const u = await load(grantId, day)
      return u.shared + u.inflight + u.pending
    }
  }
}

export type QuotaCounter = ReturnType<typeof createQuotaCounter>
