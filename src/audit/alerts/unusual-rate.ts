import { sql } from 'kysely'
import { Type } from 'typebox'
import { PER_CALLER, READS } from './per-caller.js'
import { defineRule, type AlertContext, type AlertRuleSpec, type Evaluate } from './rule.js'
import { ACTOR_KEY, GROW, uncovered } from './sql.js'

/**
 * One alert per caller and window when the caller's reads in the window reach the minimum and
 * exceed `multiple` times its average per window over the baseline before it. One statement: the
 * callers of the window first (none when nothing was read: the baseline is never touched), then
 * each one's baseline through audit_events_reads_idx, counted no further than the count that
 * would make the window ordinary.
 */
const unusualRateEvaluator = (ctx: AlertContext, rule: string, r: AlertRuleSpec): Evaluate => async () => {
  const window = r.windowSeconds
  const baseline = r.baselineSeconds!
  const multiple = r.multiple!
  // literal, so that the planner matches the partial index's predicate
  const reads = sql`action in (${sql.join(r.actions.map((a) => sql.lit(a)))})`
  const result = await sql`
      insert into audit_alerts (rule, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, count, first_seq, last_seq, details)
      select ${rule}, g.actor_key, g.bucket, g.actor_sub, g.actor_unit, g.actor_ip, g.window_start, g.window_end, g.n, g.first_seq, g.last_seq,
             jsonb_build_object('baselineEvents', b.events, 'baselinePerWindow', round(b.events * ${window}::numeric / ${baseline}, 2),
                                'multiple', ${multiple}::numeric, 'windowSeconds', ${window}::int, 'baselineSeconds', ${baseline}::int)
      from (
        select actor_key, floor(extract(epoch from now()) / ${window})::bigint as bucket,
               max(actor_sub) as actor_sub, max(actor_unit) as actor_unit, max(actor_ip) as actor_ip,
               min(occurred_at) as window_start, max(occurred_at) as window_end, count(*) as n, min(seq) as first_seq, max(seq) as last_seq
        from (
          select e.*, ${ACTOR_KEY} as actor_key
          from audit_events e
          where e.recorded_at >= now() - make_interval(secs => ${window}) and ${reads}
        ) recent
        group by actor_key
        having count(*) >= ${r.threshold}
      ) g
      cross join lateral (
        select count(*) as events from (
          select 1 from audit_events e
          where e.actor_sub = g.actor_sub and coalesce(e.actor_unit, '') = coalesce(g.actor_unit, '')
            and (g.actor_sub <> 'anonymous' or coalesce(e.actor_ip, '') = coalesce(g.actor_ip, '')) and ${reads}
            and e.recorded_at >= now() - make_interval(secs => ${window + baseline}) and e.recorded_at < now() - make_interval(secs => ${window})
          limit floor(g.n * ${baseline}::numeric / (${multiple}::numeric * ${window}))::bigint + 1
        ) capped
      ) b
      where g.n * ${baseline}::numeric > ${multiple}::numeric * ${window} * b.events and ${uncovered(rule)}
      ${GROW}`.execute(ctx.db)
  return Number(result.numAffectedRows ?? 0)
}

/** Reads and exports of one caller far above its own usual rate (a stolen token, a scraper). */
export const unusualRate = defineRule({
  name: 'unusual_rate',
  description: 'reads and exports far above the caller\'s own average',
  summary: 'reads far above the caller\'s own rate (unusual_rate: 10 times its average per 5 minutes over the previous 7 days, and at least 100)',
  counts: 'events',
  details: 'baselineEvents, baselinePerWindow, multiple, windowSeconds, baselineSeconds',
  settings: {
    AUDIT_ALERT_UNUSUAL_RATE_WINDOW_S: Type.Integer({ minimum: 10, maximum: 86400, default: 300, description: 'alerts: window of the `unusual_rate` rule (reads and exports of one caller), in seconds' }),
    AUDIT_ALERT_UNUSUAL_RATE_MULTIPLE: Type.Number({ minimum: 1, maximum: 10000, default: 10, description: 'alerts: an `unusual_rate` alert is raised when a caller\'s reads and exports in the window exceed this multiple of its own average per window over the baseline' }),
    AUDIT_ALERT_UNUSUAL_RATE_BASELINE_S: Type.Integer({ minimum: 3600, maximum: 7776000, default: 604800, description: 'alerts: the baseline of the `unusual_rate` rule: this many seconds before the window' }),
    AUDIT_ALERT_UNUSUAL_RATE_MIN_EVENTS: Type.Integer({ minimum: 1, maximum: 100000000, default: 100, description: 'alerts: reads and exports in the window below which no `unusual_rate` alert is raised, whatever the baseline' })
  },
  spec: (config) => ({
    ...PER_CALLER,
    windowSeconds: config.AUDIT_ALERT_UNUSUAL_RATE_WINDOW_S,
    threshold: config.AUDIT_ALERT_UNUSUAL_RATE_MIN_EVENTS,
    actions: READS, // as in the partial index audit_events_reads_idx (migrations/0010): keep them in step
    baselineSeconds: config.AUDIT_ALERT_UNUSUAL_RATE_BASELINE_S,
    multiple: config.AUDIT_ALERT_UNUSUAL_RATE_MULTIPLE
  }),
  evaluator: unusualRateEvaluator
})
