import type { Kysely, Transaction } from 'kysely'
import type { Static, TObject, TProperties } from 'typebox'
import type { Database } from '../../db/database.js'

/**
 * Alert rules over the log (R11.1: abuse, violation and over-privileged use recognised and traced
 * to a person). A rule matches recent events by action or operation, optionally only successful
 * ones, only on datasets of some kind, only outside working hours, and counts them:
 * - per caller: events grouped by caller; a group over its threshold raises one alert per caller
 *   and window, which grows while the window lasts (per-caller.ts);
 * - per event: every matching event raises its own alert, once (per-event.ts);
 * - rate: per caller, against the caller's own average per window over a baseline before it
 *   (unusual-rate.ts);
 * - grant and day: rows read under one grant on one campus day, against the grant's daily quota
 *   (quota.ts).
 * Each rule is a module of this folder, listed in registry.ts.
 */
export interface AlertRuleSpec {
  windowSeconds: number
  /** caller: events or rows in the window; rate: the fewest events in the window that may alert; grant_day: percent of the quota */
  threshold: number
  actions: readonly string[]
  operations: readonly string[]
  measure: 'events' | 'rows'
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

/**
 * The campus calendar's configuration, which rules may read beside their own settings (a type
 * literal, not an interface: settings of any rule are then assignable to those of every rule).
 */
export type CalendarConfig = { CAMPUS_HOLIDAYS?: string | undefined, CAMPUS_WORKDAYS?: string | undefined }

/** An alert a per-caller rule raised or grew. */
export interface Raised { id: number, actorSub: string, actorUnit: string | null, actorIp: string | null, count: string, inserted: boolean }

/** What the rules of one alert repository evaluate with. */
export interface AlertContext {
  db: Kysely<Database>
  /**
   * Blacklists the caller of each newly raised alert in the alert's transaction, and returns how many
   * it blocked; absent when automatic blocks are off (BLACKLIST_AUTO_MINUTES=0).
   */
  block?: (trx: Transaction<Database>, rule: string, spec: AlertRuleSpec, raised: Raised[]) => Promise<number>
  /** called once automatic blocks have committed (the process reloads its blacklist at once) */
  onBlocked?: () => void
}

/** One evaluation of a rule over its window ending now: how many alerts it raised or grew. */
export type Evaluate = () => Promise<number>

/** The values of a rule's settings, as the configuration holds them. */
export type SettingsOf<S extends TProperties> = Static<TObject<S>>

/**
 * An alert rule: its name, what it recognises, its configuration and its evaluation. (`check`, `spec`
 * and `evaluator` are methods, whose parameters TypeScript compares both ways: a rule typed by its
 * own settings is then an AlertRuleDefinition of any settings, as the registry lists them.)
 */
export interface AlertRuleDefinition<N extends string = string, S extends TProperties = TProperties> {
  /** the `rule` of its alerts */
  name: N
  /** what it recognises, in the alert schema's list of rules */
  description: string
  /** what it recognises, with its defaults, in the description of the alert list */
  summary: string
  /** what an alert's `count` counts; none: one alert per event */
  counts?: 'events' | 'rows'
  /** the keys of an alert's `details`; none: empty */
  details?: string
  /**
   * Its environment variables (AUDIT_ALERT_*), with their schemas, defaults and descriptions: part
   * of the configuration's schema (src/config.ts), in the registry's order.
   */
  settings: S
  /**
   * Problems of its settings taken together, beyond each one's schema; `invalid` tells which
   * variables failed their schema already.
   */
  check? (config: SettingsOf<S>, invalid: (name: string) => boolean): string[]
  /** Its parameters, from the configuration. */
  spec (config: SettingsOf<S> & CalendarConfig): AlertRuleSpec
  /** Its evaluation in one alert repository (which keeps whatever state it needs between calls). */
  evaluator (ctx: AlertContext, name: string, spec: AlertRuleSpec): Evaluate
}

/** A rule, its name and settings inferred. */
export const defineRule = <const N extends string, S extends TProperties>(rule: AlertRuleDefinition<N, S>) => rule
