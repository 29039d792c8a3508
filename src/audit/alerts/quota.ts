import { sql, type Kysely } from 'kysely'
import { Type } from 'typebox'
import type { Database } from '../../db/database.js'
import { campusTime } from '../../platform/calendar.js'
import { PER_CALLER, READS } from './per-caller.js'
import { defineRule, type AlertContext, type AlertRuleSpec, type Evaluate } from './rule.js'
import { chainHead, filter, GROW } from './sql.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** whole days from one YYYY-MM-DD to another */
const daysBetween = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000)

/** The quota rule's running sums in this process, by grant and campus day. */
interface GrantDay { grantId: string, day: string, rows: number, subs: Set<string>, actorSub: string, actorUnit: string | null, firstSeq: bigint, lastSeq: bigint, windowStart: string, windowEnd: string }
/** a grant's day names at most this many callers (the alert's details list 20) */
const MAX_CALLERS = 1000

/**
 * One alert per grant and campus day whose rows exceed `threshold` percent of the grant's daily
 * row quota. Each evaluation sums only the events sealed since the last one, by grant and day, and
 * adds them to running sums; the first evaluation in a process sums the whole day once. (Summing a
 * busy grant's whole day again at every evaluation grew with the day and, under sustained load,
 * ran into the statement timeout: bench/soak.ts.) An hour after midnight the day before still
 * takes its late events; older days are dropped.
 */
function quotaEvaluator (ctx: AlertContext, rule: string, r: AlertRuleSpec): Evaluate {
  const { db } = ctx
  let after: string | undefined
  const grantDays = new Map<string, GrantDay>()
  return async () => {
    const head = await chainHead(db)
    const dayStart = sql`((${campusTime(sql`now() - interval '1 hour'`)}::date - interval '8 hours') at time zone 'UTC')`
    const since = after === undefined ? sql`e.recorded_at >= ${dayStart}` : sql`e.seq > ${after}::bigint`
    const day = sql`${campusTime(sql`e.occurred_at`)}::date`
    const fresh = await sql<{ grant_id: string, day: string, rows: string, subs: string[], actor_unit: string | null, first_seq: string, last_seq: string, window_start: string, window_end: string }>`
      select e.grant_id, to_char(${day}, 'YYYY-MM-DD') as day, coalesce(sum(e.row_count), 0)::text as rows,
             (array_agg(distinct e.actor_sub))[1:${MAX_CALLERS}] as subs, max(e.actor_unit) as actor_unit,
             min(e.seq)::text as first_seq, max(e.seq)::text as last_seq,
             min(e.occurred_at)::text as window_start, max(e.occurred_at)::text as window_end
      from audit_events e
      where ${since} and e.seq <= ${head}::bigint and e.grant_id is not null and ${filter(r)}
      group by e.grant_id, ${day}`.execute(db)
    after = head

    const touched: GrantDay[] = []
    for (const f of fresh.rows) {
      const key = `${f.grant_id}\u0000${f.day}`
      const sum = grantDays.get(key)
      if (!sum) {
        const added: GrantDay = {
          grantId: f.grant_id,
          day: f.day,
          rows: Number(f.rows),
          subs: new Set(f.subs),
          actorSub: f.subs[0]!,
          actorUnit: f.actor_unit,
          firstSeq: BigInt(f.first_seq),
          lastSeq: BigInt(f.last_seq),
          windowStart: f.window_start,
          windowEnd: f.window_end
        }
        grantDays.set(key, added)
        touched.push(added)
        continue
      }
      sum.rows += Number(f.rows)
      for (const sub of f.subs) if (sum.subs.size < MAX_CALLERS) sum.subs.add(sub)
      if (f.actor_unit !== null) sum.actorUnit = f.actor_unit
      if (BigInt(f.last_seq) > sum.lastSeq) { sum.lastSeq = BigInt(f.last_seq); sum.windowEnd = f.window_end }
      touched.push(sum)
    }
    const newest = [...grantDays.values()].reduce((d, g) => (g.day > d ? g.day : d), '')
    for (const [key, g] of grantDays) if (daysBetween(g.day, newest) > 1) grantDays.delete(key)

    const ids = [...new Set(touched.map((g) => g.grantId))].filter((id) => UUID.test(id))
    if (ids.length === 0) return 0
    const grants = new Map((await db.selectFrom('grants').select(['id', 'dataset_code', 'consumer_unit', 'daily_row_quota'])
      .where('id', 'in', ids).execute()).map((g) => [g.id, g]))
    const over = touched.flatMap((u) => {
      const g = grants.get(u.grantId)
      return g && u.rows * 100 > Number(g.daily_row_quota) * r.threshold ? [{ u, g }] : []
    })
    if (over.length === 0) return 0
    const result = await sql`
      insert into audit_alerts (rule, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, count, first_seq, last_seq, details)
      values ${sql.join(over.map(({ u, g }) => {
        const alone = u.subs.size === 1
        const details = { grantId: g.id, dataset: g.dataset_code, day: u.day, dailyRowQuota: Number(g.daily_row_quota), callers: [...u.subs].sort().slice(0, 20) }
        return sql`(${rule}, ${`grant:${u.grantId}`}, ${u.day}::date - date '2000-01-01', ${alone ? u.actorSub : `grant:${u.grantId}`},
                    ${alone ? u.actorUnit : g.consumer_unit}, null, ${u.windowStart}::timestamptz, ${u.windowEnd}::timestamptz, ${u.rows},
                    ${String(u.firstSeq)}::bigint, ${String(u.lastSeq)}::bigint, ${JSON.stringify(details)}::jsonb)`
      }))}
      ${GROW}`.execute(db)
    return Number(result.numAffectedRows ?? 0)
  }
}

/** A read the data path refused because the day's quota of its grant is used up. */
export interface QuotaExceeded { grantId: string, dataset: string, unit: string, sub: string, day: string, used: number, quota: number, seq: string }

/**
 * The `quota` alert of a grant and campus day, raised at once when the data path refuses a read
 * because the day's quota is used up (the rule itself sees only rows served, which the refusal
 * keeps within the quota). Same key as the rule's alerts: one per grant and day, grown by repeats.
 */
export async function raiseQuotaExceeded (db: Kysely<Database>, input: QuotaExceeded): Promise<void> {
  const details = { grantId: input.grantId, dataset: input.dataset, day: input.day, dailyRowQuota: input.quota, callers: [input.sub], refused: true }
  await sql`
        insert into audit_alerts (rule, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, count, first_seq, last_seq, details)
        values (${quota.name}, ${`grant:${input.grantId}`}, ${input.day}::date - date '2000-01-01', ${input.sub}, ${input.unit}, null,
                now(), now(), ${input.used}, ${input.seq}::bigint, ${input.seq}::bigint, ${JSON.stringify(details)}::jsonb)
        ${GROW}`.execute(db)
}

/**
 * Rows read under one grant (the data path records `grant_id` and `rows` on its reads and exports)
 * on one campus day beyond its daily row quota; the window is unused: the rule sums whole days of
 * the grants that read since its last evaluation.
 */
export const quota = defineRule({
  name: 'quota',
  description: 'rows read under one grant on one campus day beyond its daily row quota (actor: the one caller, else grant:<id> and the consumer unit)',
  summary: 'rows read under a grant beyond its daily row quota (quota)',
  counts: 'rows',
  details: 'grantId, dataset, day, dailyRowQuota, callers',
  settings: {
    AUDIT_ALERT_QUOTA_PERCENT: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'alerts: a `quota` alert is raised when the rows read under one grant on one campus day exceed this percentage of its daily row quota' })
  },
  spec: (config) => ({
    ...PER_CALLER,
    windowSeconds: 86_400,
    threshold: config.AUDIT_ALERT_QUOTA_PERCENT,
    actions: READS,
    measure: 'rows',
    successOnly: true
  }),
  evaluator: quotaEvaluator
})
