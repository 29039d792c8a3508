import { sql, type Kysely, type Transaction } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import { parseAddressRange } from '../platform/auth/blocklist.js'
import type { Principal } from '../platform/auth/plugin.js'
import { addBlacklistEntry, createBlacklistRepository } from './blacklist/repository.js'

/**
 * Alert rules over the log (R11.1: abuse, violation and over-privileged use recognised and traced
 * to a person). A rule counts recent events of some actions or operations. Per caller: events
 * grouped by caller; a group over its threshold raises one alert per caller and window, which grows
 * while the window lasts. Per event: every matching event raises its own alert, once.
 */
export interface AlertRuleSpec {
  windowSeconds: number
  threshold: number
  actions: readonly string[]
  operations: readonly string[]
  measure: 'events' | 'rows'
  per: 'caller' | 'event'
  /** a new alert blacklists its caller for BLACKLIST_AUTO_MINUTES (R11.2) */
  autoBlock: boolean
}

export const ALERT_RULE_NAMES = ['denials', 'burst', 'volume', 'overdue_review'] as const
export type AlertRule = typeof ALERT_RULE_NAMES[number]

export type AlertConfig = Pick<Config,
  'AUDIT_ALERT_DENIALS_THRESHOLD' | 'AUDIT_ALERT_DENIALS_WINDOW_S' | 'AUDIT_ALERT_BURST_THRESHOLD' | 'AUDIT_ALERT_BURST_WINDOW_S' |
  'AUDIT_ALERT_VOLUME_THRESHOLD' | 'AUDIT_ALERT_VOLUME_WINDOW_S' | 'BLACKLIST_AUTO_MINUTES'>

export interface AlertSettings {
  rules: Record<AlertRule, AlertRuleSpec>
  /** minutes a denials alert blacklists its caller; 0: never */
  autoBlockMinutes: number
  /** called once automatic blocks have committed (the process reloads its blacklist at once) */
  onBlocked?: () => void
}

/** The rules as configured (thresholds and windows from AUDIT_ALERT_*). */
export function alertSettingsOf (config: AlertConfig): AlertSettings {
  const caller = { operations: [], measure: 'events', per: 'caller', autoBlock: false } as const
  return {
    autoBlockMinutes: config.BLACKLIST_AUTO_MINUTES,
    rules: {
      /** refusals from one caller: probing, a stolen token, a misconfigured system */
      denials: { ...caller, windowSeconds: config.AUDIT_ALERT_DENIALS_WINDOW_S, threshold: config.AUDIT_ALERT_DENIALS_THRESHOLD, actions: ['denied'], autoBlock: true },
      /** reads or exports from one caller far beyond routine use */
      burst: { ...caller, windowSeconds: config.AUDIT_ALERT_BURST_WINDOW_S, threshold: config.AUDIT_ALERT_BURST_THRESHOLD, actions: ['query', 'export'] },
      /** rows taken out by one caller: bulk extraction */
      volume: { ...caller, windowSeconds: config.AUDIT_ALERT_VOLUME_WINDOW_S, threshold: config.AUDIT_ALERT_VOLUME_THRESHOLD, actions: ['query', 'export'], measure: 'rows' },
      /**
       * a share request's review passed its deadline (R7.8), reported by the authorization service;
       * the event's unit is the one that must review. The window only bounds how far back a late
       * evaluation looks: each event raises one alert, ever.
       */
      overdue_review: { windowSeconds: 86_400, threshold: 1, actions: [], operations: ['share_request.review_overdue'], measure: 'events', per: 'event', autoBlock: false }
    }
  }
}

/** The actor of automatic blacklist entries. */
const ALERTS_ACTOR: Principal = { sub: 'system:alerts', unit: 'office', roles: [] }

interface Raised { id: number, actorSub: string, actorUnit: string | null, actorIp: string | null, count: string, inserted: boolean }

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

export function createAlertRepository (db: Kysely<Database>, settings: AlertSettings) {
  const columns = [
    'id', 'rule', 'actor_sub as actorSub', 'actor_unit as actorUnit', 'actor_ip as actorIp',
    time('window_start').as('windowStart'), time('window_end').as('windowEnd'), sql<number>`count::int`.as('count'),
    sql<string>`first_seq::text`.as('firstSeq'), sql<string>`last_seq::text`.as('lastSeq'), 'status', 'acked_by as ackedBy',
    sql<string | null>`case when acked_at is null then null else ${time('acked_at')} end`.as('ackedAt'), 'note', time('created_at').as('createdAt')
  ] as const
  const blacklist = createBlacklistRepository(db)
  const matching = (r: AlertRuleSpec) => sql`(action = any(${[...r.actions]}::text[]) or operation = any(${[...r.operations]}::text[]))`

  /** One alert per caller, rule and window; returns the alerts raised or grown. */
  async function perCaller (q: Kysely<Database>, rule: AlertRule, r: AlertRuleSpec): Promise<Raised[]> {
    const measure = r.measure === 'rows' ? sql`coalesce(sum(row_count), 0)` : sql`count(*)`
    // one window per caller and rule: the bucket of the window's start, so an ongoing burst
    // grows one alert instead of raising one per evaluation
    const result = await sql<Raised>`
      insert into audit_alerts (rule, actor_key, bucket, actor_sub, actor_unit, actor_ip, window_start, window_end, count, first_seq, last_seq)
      select ${rule}, actor_key, floor(extract(epoch from now()) / ${r.windowSeconds})::bigint,
             max(actor_sub), max(actor_unit), max(actor_ip), min(occurred_at), max(occurred_at), ${measure}, min(seq), max(seq)
      from (
        -- a caller: subject and unit; without a token, its address
        select *, actor_sub || '|' || coalesce(actor_unit, '') || '|' ||
                  case when actor_sub = 'anonymous' then coalesce(actor_ip, '') else '' end as actor_key
        from audit_events
        where recorded_at >= now() - make_interval(secs => ${r.windowSeconds}) and ${matching(r)}
      ) recent
      group by actor_key
      having ${measure} >= ${r.threshold}
      on conflict (rule, actor_key, bucket) do update
        set count = greatest(audit_alerts.count, excluded.count), last_seq = greatest(audit_alerts.last_seq, excluded.last_seq),
            window_end = greatest(audit_alerts.window_end, excluded.window_end)
      returning id, actor_sub as "actorSub", actor_unit as "actorUnit", actor_ip as "actorIp", count::text as count,
                (xmax = 0) as inserted -- raised now, not grown`.execute(q)
    return result.rows
  }

  // per-event rules read only the events sealed since their last evaluation in this process (the
  // head moves in the transaction that inserts the events, so every seq up to it is committed); the
  // first evaluation looks back over the rule's window
  const seen = new Map<AlertRule, string>()

  /** One alert per matching event, once (other processes evaluating the same events raise nothing more). */
  async function perEvent (rule: AlertRule, r: AlertRuleSpec): Promise<number> {
    const { seq: head } = await db.selectFrom('audit_chain_head').select(sql<string>`seq::text`.as('seq')).executeTakeFirstOrThrow()
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
