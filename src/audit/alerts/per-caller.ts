import { READ_ACTIONS } from '../events.js'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import type { AlertContext, AlertRuleSpec, Evaluate, Raised } from './rule.js'
import { ACTOR_KEY, filter, GROW, uncovered } from './sql.js'

/** One alert per caller, rule and window; returns the alerts raised or grown. */
async function perCaller (q: Kysely<Database>, rule: string, r: AlertRuleSpec): Promise<Raised[]> {
  const measure = r.measure === 'rows' ? sql`coalesce(sum(row_count), 0)` : sql`count(*)`
  const details = r.datasets !== undefined ? sql`jsonb_build_object('datasets', to_jsonb(array_agg(distinct dataset_code)))` : sql`'{}'::jsonb`
  // one window per caller and rule: the bucket of the window's start, so an ongoing burst
  // grows one alert instead of raising one per evaluation
  const result = await sql<Raised>`
      insert into audit_alerts (rule, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, count, first_seq, last_seq, details)
      select ${rule}, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, n, first_seq, last_seq, details
      from (
        select actor_key, floor(extract(epoch from now()) / ${r.windowSeconds})::bigint as bucket,
               max(actor_sub) as actor_sub, max(actor_unit) as actor_unit, max(actor_ip) as actor_ip,
               min(occurred_at) as window_start, max(occurred_at) as window_end, ${measure} as n, min(seq) as first_seq, max(seq) as last_seq,
               ${details} as details
        from (
          select e.*, ${ACTOR_KEY} as actor_key
          from audit_events e
          where e.recorded_at >= now() - make_interval(secs => ${r.windowSeconds}) and ${filter(r)}
        ) recent
        group by actor_key
        having ${measure} >= ${r.threshold}
      ) g
      where ${uncovered(rule)}
      ${GROW}
      returning id, actor_sub as "actorSub", actor_unit as "actorUnit", actor_ip as "actorIp", count::text as count,
                (xmax = 0) as inserted -- raised now, not grown`.execute(q)
  return result.rows
}

/**
 * The evaluation of a per-caller rule. A rule that blocks (`autoBlock`) raises its alerts and the
 * blocks they cause in one transaction, when automatic blocks are on.
 */
export const perCallerEvaluator = (ctx: AlertContext, rule: string, r: AlertRuleSpec): Evaluate => async () => {
  const block = r.autoBlock ? ctx.block : undefined
  if (!block) return (await perCaller(ctx.db, rule, r)).length
  // an alert and the block it causes commit together
  const { raised, blocked } = await ctx.db.transaction().execute(async (trx) => {
    const raised = await perCaller(trx, rule, r)
    return { raised: raised.length, blocked: await block(trx, rule, r, raised.filter((a) => a.inserted)) }
  })
  if (blocked > 0) ctx.onBlocked?.()
  return raised
}

/** What per-caller rules share: they count events unless they say rows, and block no one unless they say so. */
export const PER_CALLER = { operations: [], measure: 'events', autoBlock: false } as const

/** Reads and exports (the data path's actions). */
export const READS = READ_ACTIONS
