import { burst } from './burst.js'
import { correctionOverdue } from './correction-overdue.js'
import { denials } from './denials.js'
import { offHours } from './off-hours.js'
import { overdueReview } from './overdue-review.js'
import { quota } from './quota.js'
import { recertificationDue } from './recertification-due.js'
import type { AlertRuleDefinition } from './rule.js'
import { sensitiveExport } from './sensitive-export.js'
import { unusualRate } from './unusual-rate.js'
import { volume } from './volume.js'

/**
 * The alert rules, in the order they are evaluated, listed and configured. Their names, the
 * configuration's AUDIT_ALERT_* variables and the alert schema's list of rules come from here.
 */
const REGISTRY = [
  denials, burst, volume, overdueReview, offHours, sensitiveExport, unusualRate, quota, recertificationDue, correctionOverdue
] as const

/** The rules, as the engine, the configuration and the alert schema walk them. */
export const ALERT_RULES: readonly AlertRuleDefinition[] = REGISTRY

export type AlertRule = typeof REGISTRY[number]['name']
export const ALERT_RULE_NAMES = ALERT_RULES.map((r) => r.name) as readonly AlertRule[] as readonly [AlertRule, ...AlertRule[]]

/** The settings of every rule, one after another. */
type Settings<R extends readonly unknown[]> = R extends readonly [AlertRuleDefinition<string, infer S>, ...infer Rest] ? S & Settings<Rest> : unknown

/** Every rule's environment variables (AUDIT_ALERT_*), in the registry's order: part of the configuration's schema. */
export const ALERT_SETTINGS = Object.assign({}, ...ALERT_RULES.map((r) => r.settings)) as Settings<typeof REGISTRY>

/** The name of a rule's environment variable. */
export type AlertSettingName = keyof typeof ALERT_SETTINGS
