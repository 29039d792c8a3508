import { sql, type Kysely, type Transaction } from 'kysely'
import type { Config } from '../../config.js'
import type { Database } from '../../db/database.js'
import type { AlertStatus } from '../table.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { parseAddressRange } from '../../platform/auth/blocklist.js'
import { addBlacklistEntry, createBlacklistRepository } from '../blacklist/repository.js'
import { raiseQuotaExceeded, type QuotaExceeded } from './quota.js'
import { ALERT_RULES, type AlertRule, type AlertSettingName } from './registry.js'
import type { AlertContext, AlertRuleSpec, Raised } from './rule.js'

/** What the rules read of the configuration: their own settings, the campus calendar, and automatic blocks. */
export type AlertConfig = Pick<Config, AlertSettingName | 'BLACKLIST_AUTO_MINUTES' | 'CAMPUS_HOLIDAYS' | 'CAMPUS_WORKDAYS'>

export interface AlertSettings {
  rules: Record<AlertRule, AlertRuleSpec>
  /** minutes a denials alert blacklists its caller; 0: never */
  autoBlockMinutes: number
  /** called once automatic blocks have committed (the process reloads its blacklist at once) */
  onBlocked?: () => void
}

/** The rules as configured (thresholds and windows from AUDIT_ALERT_*). */
export function alertSettingsOf (config: AlertConfig): AlertSettings {
  return {
    autoBlockMinutes: config.BLACKLIST_AUTO_MINUTES,
    rules: Object.fromEntries(ALERT_RULES.map((rule) => [rule.name, rule.spec(config)])) as Record<AlertRule, AlertRuleSpec>
  }
}

/** The actor of automatic blacklist entries. */
const ALERTS_ACTOR: Principal = { sub: 'system:alerts', unit: 'office', roles: [] }

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

/** The alerts: the registry's rules evaluated over the log, and the alerts they raised. */
export function createAlertRepository (db: Kysely<Database>, settings: AlertSettings) {
  const columns = [
    'id', 'rule', 'actor_sub as actorSub', 'actor_unit as actorUnit', 'actor_ip as actorIp',
    time('window_start').as('windowStart'), time('window_end').as('windowEnd'), sql<number>`count::int`.as('count'),
    sql<string>`first_seq::text`.as('firstSeq'), sql<string>`last_seq::text`.as('lastSeq'), 'status', 'acked_by as ackedBy',
    sql<string | null>`case when acked_at is null then null else ${time('acked_at')} end`.as('ackedAt'), 'note', time('created_at').as('createdAt'),
    'details'
  ] as const
  const blacklist = createBlacklistRepository(db)

  /**
   * Blacklists the caller of each newly raised alert (its subject within its unit; its address
   * without a token) in the alert's transaction, unless it is blocked already.
   */
  async function block (trx: Transaction<Database>, rule: string, r: AlertRuleSpec, raised: Raised[]): Promise<number> {
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

  const ctx: AlertContext = {
    db,
    ...(settings.autoBlockMinutes > 0 ? { block } : {}),
    ...(settings.onBlocked ? { onBlocked: settings.onBlocked } : {})
  }
  // each rule's evaluation, with whatever it keeps between evaluations in this process
  const evaluators = ALERT_RULES.map((rule) => rule.evaluator(ctx, rule.name, settings.rules[rule.name as AlertRule]))

  return {
    /** Evaluates every rule over its window ending now; returns how many alerts were raised or grown. */
    async evaluate (): Promise<number> {
      let touched = 0
      for (const evaluate of evaluators) touched += await evaluate()
      return touched
    },

    /**
     * The `quota` alert of a grant and campus day, raised at once when the data path refuses a read
     * because the day's quota is used up.
     */
    async raiseQuotaExceeded (input: QuotaExceeded): Promise<void> {
      await raiseQuotaExceeded(db, input)
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
