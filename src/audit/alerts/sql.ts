import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { campusTime } from '../../platform/calendar.js'
import type { AlertRuleSpec } from './rule.js'

/** What the rules' statements share: who a caller is, which events a rule reads, how an alert grows. */

/** A caller: subject and unit; without a token, its address (columns of audit_events, unqualified). */
export const ACTOR_KEY = sql.raw("actor_sub || '|' || coalesce(actor_unit, '') || '|' || case when actor_sub = 'anonymous' then coalesce(actor_ip, '') else '' end")

/** what an alert raised again grows: its count, its last event, and what it found */
export const GROW = sql`on conflict (rule, actor_key, bucket) do update
        set count = greatest(audit_alerts.count, excluded.count), last_seq = greatest(audit_alerts.last_seq, excluded.last_seq),
            window_end = greatest(audit_alerts.window_end, excluded.window_end), details = excluded.details`

/** The events of a rule's actions or operations. */
export const matching = (r: AlertRuleSpec) => sql`(action = any(${[...r.actions]}::text[]) or operation = any(${[...r.operations]}::text[]))`

/** The events a rule looks at, of `audit_events e`. */
export function filter (r: AlertRuleSpec) {
  const parts = [matching(r)]
  if (r.successOnly) parts.push(sql`e.outcome = 'success'`)
  if (r.datasets !== undefined) {
    const held = r.datasets === 'important_or_children' ? sql`(d.grade = 'important' or d.children_pi)` : sql`(d.sensitive_pi or d.children_pi)`
    parts.push(sql`exists (select 1 from datasets d where d.code = e.dataset_code and ${held})`)
  }
  if (r.offHours !== undefined) {
    const local = campusTime(sql`e.occurred_at`)
    const among = (days: readonly string[]) => days.length === 0 ? sql`false` : sql`(${local})::date in (${sql.join(days.map((d) => sql`${d}::date`))})`
    const dayOff = sql`((extract(isodow from ${local}) >= 6 and not ${among(r.offHours.workdays)}) or ${among(r.offHours.holidays)})`
    parts.push(sql`(${dayOff} or extract(hour from ${local}) < ${r.offHours.startHour}
                      or extract(hour from ${local}) >= ${r.offHours.endHour})`)
  }
  return sql.join(parts, sql` and `)
}

/**
 * Of groups `g` (actor_key, bucket, last_seq): those whose events an alert of the previous window
 * does not already cover. Windows slide, so without this the events that raised an alert would
 * raise another as soon as the next window starts.
 */
export const uncovered = (rule: string) => sql`not exists (
        select 1 from audit_alerts a
        where a.rule = ${rule} and a.actor_key = g.actor_key and a.bucket = g.bucket - 1 and a.last_seq >= g.last_seq)`

/**
 * The head of the chain. It moves in the transaction that inserts the events, so every seq up to it
 * is committed: rules that read only the events sealed since their last evaluation read up to it.
 */
export const chainHead = async (db: Kysely<Database>) =>
  (await db.selectFrom('audit_chain_head').select(sql<string>`seq::text`.as('seq')).executeTakeFirstOrThrow()).seq
