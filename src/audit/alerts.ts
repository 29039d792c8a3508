import { sql, type Kysely, type Transaction } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import type { AlertStatus } from './table.js'
import { parseAddressRange } from '../platform/auth/blocklist.js'
import { campusCalendar, campusTime } from '../platform/calendar.js'
import type { Principal } from '../platform/auth/plugin.js'
import { addBlacklistEntry, createBlacklistRepository } from './blacklist/repository.js'

/**
 * Alert rules over the log (R11.1: abuse, violation and over-privileged use recognised and traced
 * to a person). A rule matches recent events by action or operation, optionally only successful
 * ones, only on datasets of some kind, only outside working hours, and counts them:
 * - per caller: events grouped by caller; a group over its threshold raises one alert per caller
 *   and window, which grows while the window lasts;
 * - per event: every matching event raises its own alert, once;
 * - rate: per caller, against the caller's own average per window over a baseline before it;
 * - grant and day: rows read under one grant on one campus day, against the grant's daily quota.
 */
export interface AlertRuleSpec {
  windowSeconds: number
  /** caller: events or rows in the window; rate: the fewest events in the window that may alert; grant_day: percent of the quota */
  threshold: number
  actions: readonly string[]
  operations: readonly string[]
  measure: 'events' | 'rows'
  per: 'caller' | 'event' | 'rate' | 'grant_day'
  /** a new alert blacklists its caller for BLACKLIST_AUTO_MINUTES (R11.2) */
  autoBlock: boolean
  /** only events whose outcome is `success` */
  successOnly?: boolean
  /** only events on datasets graded important or holding children's PI, or holding sensitive or children's PI (the catalog's flags now) */
  datasets?: 'important_or_children' | 'sensitive_or_children'
  /** only events that occurred outside working hours on the campus calendar (UTC+8): before start, from end, Saturdays and Sundays */
  /** working hours on the campus calendar; holidays are off all day, make-up workdays (调休) on */
  offHours?: { startHour: number, endHour: number, holidays: readonly string[], workdays: readonly string[] }
  /** rate: the period before the window the caller's average is taken over */
  baselineSeconds?: number
  /** rate: how many times its average per window a caller must exceed */
  multiple?: number
}

export const ALERT_RULE_NAMES = [
  'denials', 'burst', 'volume', 'overdue_review', 'off_hours', 'sensitive_export', 'unusual_rate', 'quota', 'recertification_due',
  'correction_overdue'
] as const
export type AlertRule = typeof ALERT_RULE_NAMES[number]

export type AlertConfig = Pick<Config,
  'AUDIT_ALERT_DENIALS_THRESHOLD' | 'AUDIT_ALERT_DENIALS_WINDOW_S' | 'AUDIT_ALERT_BURST_THRESHOLD' | 'AUDIT_ALERT_BURST_WINDOW_S' |
  'AUDIT_ALERT_VOLUME_THRESHOLD' | 'AUDIT_ALERT_VOLUME_WINDOW_S' | 'AUDIT_ALERT_WORK_START_HOUR' | 'AUDIT_ALERT_WORK_END_HOUR' |
  'AUDIT_ALERT_OFF_HOURS_THRESHOLD' | 'AUDIT_ALERT_OFF_HOURS_WINDOW_S' | 'AUDIT_ALERT_SENSITIVE_EXPORT_THRESHOLD' |
  'AUDIT_ALERT_SENSITIVE_EXPORT_WINDOW_S' | 'AUDIT_ALERT_UNUSUAL_RATE_WINDOW_S' | 'AUDIT_ALERT_UNUSUAL_RATE_MULTIPLE' |
  'AUDIT_ALERT_UNUSUAL_RATE_BASELINE_S' | 'AUDIT_ALERT_UNUSUAL_RATE_MIN_EVENTS' | 'AUDIT_ALERT_QUOTA_PERCENT' | 'BLACKLIST_AUTO_MINUTES' |
  'CAMPUS_HOLIDAYS' | 'CAMPUS_WORKDAYS'>

export interface AlertSettings {
  rules: Record<AlertRule, AlertRuleSpec>
  /** minutes a denials alert blacklists its caller; 0: never */
  autoBlockMinutes: number
  /** called once automatic blocks have committed (the process reloads its blacklist at once) */
  onBlocked?: () => void
}

/** The configured holidays and make-up workdays, as lists of days. */
function calendarDays (config: Pick<Config, 'CAMPUS_HOLIDAYS' | 'CAMPUS_WORKDAYS'>) {
  const { holidays, workdays } = campusCalendar(config)
  return { holidays: [...holidays], workdays: [...workdays] }
}

/** The rules as configured (thresholds and windows from AUDIT_ALERT_*). */
export function alertSettingsOf (config: AlertConfig): AlertSettings {
  const caller = { operations: [], measure: 'events', per: 'caller', autoBlock: false } as const
  const reads = ['query', 'export'] as const
  return {
    autoBlockMinutes: config.BLACKLIST_AUTO_MINUTES,
    rules: {
      /** refusals from one caller: probing, a stolen token, a misconfigured system */
      denials: { ...caller, windowSeconds: config.AUDIT_ALERT_DENIALS_WINDOW_S, threshold: config.AUDIT_ALERT_DENIALS_THRESHOLD, actions: ['denied'], autoBlock: true },
      /** reads or exports from one caller far beyond routine use */
      burst: { ...caller, windowSeconds: config.AUDIT_ALERT_BURST_WINDOW_S, threshold: config.AUDIT_ALERT_BURST_THRESHOLD, actions: reads },
      /** rows taken out by one caller: bulk extraction */
      volume: { ...caller, windowSeconds: config.AUDIT_ALERT_VOLUME_WINDOW_S, threshold: config.AUDIT_ALERT_VOLUME_THRESHOLD, actions: reads, measure: 'rows' },
      /**
       * a share request's review passed its deadline (R7.8), reported by the authorization service;
       * the event's unit is the one that must review. The window only bounds how far back a late
       * evaluation looks: each event raises one alert, ever.
       */
      overdue_review: { windowSeconds: 86_400, threshold: 1, actions: [], operations: ['share_request.review_overdue'], measure: 'events', per: 'event', autoBlock: false },
      /** important or children's data (R9.3) read or exported outside working hours */
      off_hours: {
        ...caller,
        windowSeconds: config.AUDIT_ALERT_OFF_HOURS_WINDOW_S,
        threshold: config.AUDIT_ALERT_OFF_HOURS_THRESHOLD,
        actions: reads,
        successOnly: true,
        datasets: 'important_or_children',
        offHours: { startHour: config.AUDIT_ALERT_WORK_START_HOUR, endHour: config.AUDIT_ALERT_WORK_END_HOUR, ...calendarDays(config) }
      },
      /** rows of sensitive or children's personal information exported by one caller: bulk export of PI */
      sensitive_export: {
        ...caller,
        windowSeconds: config.AUDIT_ALERT_SENSITIVE_EXPORT_WINDOW_S,
        threshold: config.AUDIT_ALERT_SENSITIVE_EXPORT_THRESHOLD,
        actions: ['export'],
        measure: 'rows',
        successOnly: true,
        datasets: 'sensitive_or_children'
      },
      /** reads and exports of one caller far above its own usual rate (a stolen token, a scraper) */
      unusual_rate: {
        ...caller,
        per: 'rate',
        windowSeconds: config.AUDIT_ALERT_UNUSUAL_RATE_WINDOW_S,
        threshold: config.AUDIT_ALERT_UNUSUAL_RATE_MIN_EVENTS,
        actions: reads, // as in the partial index audit_events_reads_idx (migrations/0010): keep them in step
        baselineSeconds: config.AUDIT_ALERT_UNUSUAL_RATE_BASELINE_S,
        multiple: config.AUDIT_ALERT_UNUSUAL_RATE_MULTIPLE
      },
      /**
       * rows read under one grant (the data path records `grant_id` and `rows` on its reads and
       * exports) on one campus day beyond its daily row quota; the window is unused: the rule sums
       * whole days of the grants that read since its last evaluation
       */
      quota: { ...caller, per: 'grant_day', windowSeconds: 86_400, threshold: config.AUDIT_ALERT_QUOTA_PERCENT, actions: reads, measure: 'rows', successOnly: true },
      /**
       * a live grant fell due for re-certification (004 §25), reported once per period by the
       * authorization service's sweep; the event's unit is the producer, whose steward must act
       */
      recertification_due: { windowSeconds: 86_400, threshold: 1, actions: [], operations: ['grant.recertification_due'], measure: 'events', per: 'event', autoBlock: false },
      /**
       * a data-error correction passed its deadline undecided or uncorrected (001 §64(3)), reported
       * once by the catalog's deadline sweep; the event's unit is the producer, whose steward must act
       */
      correction_overdue: { windowSeconds: 86_400, threshold: 1, actions: [], operations: ['correction.overdue'], measure: 'events', per: 'event', autoBlock: false }
    }
  }
}

/** The actor of automatic blacklist entries. */
const ALERTS_ACTOR: Principal = { sub: 'system:alerts', unit: 'office', roles: [] }

/** A caller: subject and unit; without a token, its address (columns of audit_events, unqualified). */
const ACTOR_KEY = sql.raw("actor_sub || '|' || coalesce(actor_unit, '') || '|' || case when actor_sub = 'anonymous' then coalesce(actor_ip, '') else '' end")

interface Raised { id: number, actorSub: string, actorUnit: string | null, actorIp: string | null, count: string, inserted: boolean }

export interface AlertRow {
  id: number
  rule: AlertRule
  actorSub: string
  actorUnit: string | null
  actorIp: string | null
  windowStart: string
  windowEnd: string
  count: number
  firstSeq: string
  lastSeq: string
  status: AlertStatus
  ackedBy: string | null
  ackedAt: string | null
  note: string | null
  createdAt: string
  details: Record<string, unknown>
}

const time = (column: string) => sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

/** what an alert raised again grows: its count, its last event, and what it found */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** whole days from one YYYY-MM-DD to another */
const daysBetween = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000)

const GROW = sql`on conflict (rule, actor_key, bucket) do update
        set count = greatest(audit_alerts.count, excluded.count), last_seq = greatest(audit_alerts.last_seq, excluded.last_seq),
            window_end = greatest(audit_alerts.window_end, excluded.window_end), details = excluded.details`

export function createAlertRepository (db: Kysely<Database>, settings: AlertSettings) {
  const columns = [
    'id', 'rule', 'actor_sub as actorSub', 'actor_unit as actorUnit', 'actor_ip as actorIp',
    time('window_start').as('windowStart'), time('window_end').as('windowEnd'), sql<number>`count::int`.as('count'),
    sql<string>`first_seq::text`.as('firstSeq'), sql<string>`last_seq::text`.as('lastSeq'), 'status', 'acked_by as ackedBy',
    sql<string | null>`case when acked_at is null then null else ${time('acked_at')} end`.as('ackedAt'), 'note', time('created_at').as('createdAt'),
    'details'
  ] as const
  const blacklist = createBlacklistRepository(db)
  const matching = (r: AlertRuleSpec) => sql`(action = any(${[...r.actions]}::text[]) or operation = any(${[...r.operations]}::text[]))`

  /** The events a rule looks at, of `audit_events e`. */
  function filter (r: AlertRuleSpec) {
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
  const uncovered = (rule: AlertRule) => sql`not exists (
        select 1 from audit_alerts a
        where a.rule = ${rule} and a.actor_key = g.actor_key and a.bucket = g.bucket - 1 and a.last_seq >= g.last_seq)`

  /** One alert per caller, rule and window; returns the alerts raised or grown. */
  async function perCaller (q: Kysely<Database>, rule: AlertRule, r: AlertRuleSpec): Promise<Raised[]> {
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
   * One alert per caller and window when the caller's reads in the window reach the minimum and
   * exceed `multiple` times its average per window over the baseline before it. One statement: the
   * callers of the window first (none when nothing was read: the baseline is never touched), then
   * each one's baseline through audit_events_reads_idx, counted no further than the count that
   * would make the window ordinary.
   */
  async function unusualRate (rule: AlertRule, r: AlertRuleSpec): Promise<number> {
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
      ${GROW}`.execute(db)
    return Number(result.numAffectedRows ?? 0)
  }

  // per-event rules read only the events sealed since their last evaluation in this process (the
  // head moves in the transaction that inserts the events, so every seq up to it is committed); the
  // first evaluation looks back over the rule's window
  const seen = new Map<AlertRule, string>()

  const chainHead = async () =>
    (await db.selectFrom('audit_chain_head').select(sql<string>`seq::text`.as('seq')).executeTakeFirstOrThrow()).seq

  /** One alert per matching event, once (other processes evaluating the same events raise nothing more). */
  async function perEvent (rule: AlertRule, r: AlertRuleSpec): Promise<number> {
    const head = await chainHead()
    const after = seen.get(rule)
    const since = after === undefined ? sql`recorded_at >= now() - make_interval(secs => ${r.windowSeconds})` : sql`seq > ${after}::bigint`
    const result = await sql`
      insert into audit_alerts (rule, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, count, first_seq, last_seq)
      select ${rule}, 'seq:' || seq, 0, actor_sub, actor_unit, actor_ip, occurred_at, occurred_at, 1, seq, seq
      from audit_events
      where ${since} and seq <= ${head}::bigint and ${matching(r)}
      on conflict (rule, actor_key, bucket) do nothing`.execute(db)
    seen.set(rule, head)
    return Number(result.numAffectedRows ?? 0)
  }

  /** The quota rule's running sums in this process, by grant and campus day. */
  interface GrantDay { grantId: string, day: string, rows: number, subs: Set<string>, actorSub: string, actorUnit: string | null, firstSeq: bigint, lastSeq: bigint, windowStart: string, windowEnd: string }
  const grantDays = new Map<string, GrantDay>()
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
  async function quota (rule: AlertRule, r: AlertRuleSpec): Promise<number> {
    const head = await chainHead()
    const after = seen.get(rule)
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
    seen.set(rule, head)

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

  /**
   * Blacklists the caller of each newly raised alert (its subject within its unit; its address
   * without a token) in the alert's transaction, unless it is blocked already.
   */
  async function block (trx: Transaction<Database>, rule: AlertRule, r: AlertRuleSpec, raised: Raised[]): Promise<number> {
    let blocked = 0
    const expiresAt = new Date(Date.now() + settings.autoBlockMinutes * 60_000)
    for (const a of raised) {
      if (a.actorSub.startsWith('system:')) continue
      const range = a.actorSub === 'anonymous' && a.actorIp !== null ? parseAddressRange(a.actorIp) : null
      const target = a.actorSub !== 'anonymous'
        ? { kind: 'principal' as const, value: a.actorSub, unit: a.actorUnit }
        : range ? { kind: 'ip' as const, value: range.canonical, unit: null } : null
      if (!target || await blacklist.liveFor(target, trx)) continue
      await addBlacklistEntry(trx, {
        ...target,
        reason: `automatic: alert ${a.id} (${rule}: ${a.count} in ${r.windowSeconds} s, threshold ${r.threshold})`,
        expiresAt,
        actor: ALERTS_ACTOR,
        alertId: a.id
      })
      blocked++
    }
    return blocked
  }

  return {
    /** Evaluates every rule over its window ending now; returns how many alerts were raised or grown. */
    async evaluate (): Promise<number> {
      let touched = 0
      for (const rule of ALERT_RULE_NAMES) {
        const r = settings.rules[rule]
        if (r.per === 'event') {
          touched += await perEvent(rule, r)
        } else if (r.per === 'rate') {
          touched += await unusualRate(rule, r)
        } else if (r.per === 'grant_day') {
          touched += await quota(rule, r)
        } else if (r.autoBlock && settings.autoBlockMinutes > 0) {
          // an alert and the block it causes commit together
          const { raised, blocked } = await db.transaction().execute(async (trx) => {
            const raised = await perCaller(trx, rule, r)
            return { raised: raised.length, blocked: await block(trx, rule, r, raised.filter((a) => a.inserted)) }
          })
          touched += raised
          if (blocked > 0) settings.onBlocked?.()
        } else {
          touched += (await perCaller(db, rule, r)).length
        }
      }
      return touched
    },

    /**
     * The `quota` alert of a grant and campus day, raised at once when the data path refuses a read
     * because the day's quota is used up (the rule itself sees only rows served, which the refusal
     * keeps within the quota). Same key as the rule's alerts: one per grant and day, grown by repeats.
     */
    async raiseQuotaExceeded (input: { grantId: string, dataset: string, unit: string, sub: string, day: string, used: number, quota: number, seq: string }): Promise<void> {
      const details = { grantId: input.grantId, dataset: input.dataset, day: input.day, dailyRowQuota: input.quota, callers: [input.sub], refused: true }
      await sql`
        insert into audit_alerts (rule, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, count, first_seq, last_seq, details)
        values ('quota', ${`grant:${input.grantId}`}, ${input.day}::date - date '2000-01-01', ${input.sub}, ${input.unit}, null,
                now(), now(), ${input.used}, ${input.seq}::bigint, ${input.seq}::bigint, ${JSON.stringify(details)}::jsonb)
        ${GROW}`.execute(db)
    },

    async list (options: { status?: AlertStatus, afterId?: number, limit: number }): Promise<AlertRow[]> {
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
