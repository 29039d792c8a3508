import { sql } from 'kysely'
import { defineRule, type AlertContext, type AlertRuleSpec, type Evaluate } from './rule.js'
import { chainHead, matching } from './sql.js'

/**
 * One alert per matching event, once (other processes evaluating the same events raise nothing
 * more). It reads only the events sealed since its last evaluation in this process; the first
 * evaluation looks back over the rule's window.
 */
function perEventEvaluator (ctx: AlertContext, rule: string, r: AlertRuleSpec): Evaluate {
  let after: string | undefined
  return async () => {
    const head = await chainHead(ctx.db)
    const since = after === undefined ? sql`recorded_at >= now() - make_interval(secs => ${r.windowSeconds})` : sql`seq > ${after}::bigint`
    const result = await sql`
      insert into audit_alerts (rule, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, count, first_seq, last_seq)
      select ${rule}, 'seq:' || seq, 0, actor_sub, actor_unit, actor_ip, occurred_at, occurred_at, 1, seq, seq
      from audit_events
      where ${since} and seq <= ${head}::bigint and ${matching(r)}
      on conflict (rule, actor_key, bucket) do nothing`.execute(ctx.db)
    after = head
    return Number(result.numAffectedRows ?? 0)
  }
}

/**
 * A rule raising one alert for each event of an operation, which some sweep reports once; no
 * settings. The window only bounds how far back a late evaluation looks: each event raises one
 * alert, ever.
 */
export const perEventRule = <const N extends string>(rule: { name: N, operation: string, description: string, summary: string }) => defineRule({
  name: rule.name,
  description: rule.description,
  summary: rule.summary,
  settings: {},
  spec: () => ({ windowSeconds: 86_400, threshold: 1, actions: [], operations: [rule.operation], measure: 'events', autoBlock: false }),
  evaluator: perEventEvaluator
})
