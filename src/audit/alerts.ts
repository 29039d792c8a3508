import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/database.js'

/**
 * Alert rules over the log (R11.1: abuse, violation and over-privileged use recognised and traced
 * to a person). Each rule groups recent events by caller; a group over its threshold raises one
 * alert per caller and window, which grows while the window lasts.
 */
export const ALERT_RULES = {
  /** refusals from one caller: probing, a stolen token, a misconfigured system */
  denials: { windowSeconds: 300, threshold: 20, actions: ['denied'], measure: 'events' },
  /** reads or exports from one caller far beyond routine use */
  burst: { windowSeconds: 60, threshold: 600, actions: ['query', 'export'], measure: 'events' },
  /** rows taken out by one caller: bulk extraction */
  volume: { windowSeconds: 3600, threshold: 100_000, actions: ['query', 'export'], measure: 'rows' }
} as const
export type AlertRule = keyof typeof ALERT_RULES

export interface AlertRow {
  id: number
  rule: string
  actorSub: string
  actorUnit: string | null
  actorIp: string | null
  windowStart: string
  windowEnd: string
  count: number
  firstSeq: string
  lastSeq: string
  status: string
  ackedBy: string | null
  ackedAt: string | null
  note: string | null
  createdAt: string
}

const time = (column: string) => sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

export function createAlertRepository (db: Kysely<Database>) {
  const columns = [
    'id', 'rule', 'actor_sub as actorSub', 'actor_unit as actorUnit', 'actor_ip as actorIp',
    time('window_start').as('windowStart'), time('window_end').as('windowEnd'), sql<number>`count::int`.as('count'),
    sql<string>`first_seq::text`.as('firstSeq'), sql<string>`last_seq::text`.as('lastSeq'), 'status', 'acked_by as ackedBy',
    sql<string | null>`case when acked_at is null then null else ${time('acked_at')} end`.as('ackedAt'), 'note', time('created_at').as('createdAt')
  ] as const

  return {
    /** Evaluates every rule over its window ending now; returns how many alerts were raised or grown. */
    async evaluate (): Promise<number> {
      let touched = 0
      for (const [rule, r] of Object.entries(ALERT_RULES)) {
        const measure = r.measure === 'rows' ? sql`coalesce(sum(row_count), 0)` : sql`count(*)`
        // one window per caller and rule: the bucket of the window's start, so an ongoing burst
        // grows one alert instead of raising one per evaluation
        const result = await sql`
          insert into audit_alerts (rule, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, count, first_seq, last_seq)
          select ${rule}, actor_key, floor(extract(epoch from now()) / ${r.windowSeconds})::bigint,
                 max(actor_sub), max(actor_unit), max(actor_ip), min(occurred_at), max(occurred_at), ${measure}, min(seq), max(seq)
          from (
            -- a caller: subject and unit; without a token, its address
            select *, actor_sub || '|' || coalesce(actor_unit, '') || '|' ||
                      case when actor_sub = 'anonymous' then coalesce(actor_ip, '') else '' end as actor_key
            from audit_events
            where recorded_at >= now() - make_interval(secs => ${r.windowSeconds}) and action = any(${[...r.actions]}::text[])
          ) recent
          group by actor_key
          having ${measure} >= ${r.threshold}
          on conflict (rule, actor_key, bucket) do update
            set count = greatest(audit_alerts.count, excluded.count), last_seq = greatest(audit_alerts.last_seq, excluded.last_seq),
                window_end = greatest(audit_alerts.window_end, excluded.window_end)`.execute(db)
        touched += Number(result.numAffectedRows ?? 0)
      }
      return touched
    },

    async list (options: { status?: string, afterId?: number, limit: number }): Promise<AlertRow[]> {
      let q = db.selectFrom('audit_alerts').select([...columns])
      if (options.status !== undefined) q = q.where('status', '=', options.status)
      if (options.afterId !== undefined) q = q.where('audit_alerts.id', '>', options.afterId)
      return await q.orderBy('audit_alerts.id').limit(options.limit).execute()
    },

    async acknowledge (id: number, by: string, note: string | null): Promise<AlertRow | undefined> {
      await db.updateTable('audit_alerts').set({ status: 'acknowledged', acked_by: by, acked_at: sql`now()`, note })
        .where('id', '=', id).where('status', '=', 'open').execute()
      return await db.selectFrom('audit_alerts').select([...columns]).where('audit_alerts.id', '=', id).executeTakeFirst()
    }
  }
}
export type AlertRepository = ReturnType<typeof createAlertRepository>
