import { Type } from 'typebox'
import { PER_CALLER, perCallerEvaluator } from './per-caller.js'
import { defineRule } from './rule.js'

/** Refusals from one caller: probing, a stolen token, a misconfigured system. The caller is blacklisted for BLACKLIST_AUTO_MINUTES. */
export const denials = defineRule({
  name: 'denials',
  description: 'refusals from one caller (which also blacklist it for a while)',
  summary: 'many refusals from one caller (by default 20 in 5 minutes; the caller is also blacklisted for BLACKLIST_AUTO_MINUTES)',
  counts: 'events',
  settings: {
    AUDIT_ALERT_DENIALS_THRESHOLD: Type.Integer({ minimum: 1, maximum: 100000, default: 20, description: 'alerts: refusals of one caller within the window that raise a `denials` alert' }),
    AUDIT_ALERT_DENIALS_WINDOW_S: Type.Integer({ minimum: 1, maximum: 86400, default: 300, description: 'alerts: window of the `denials` rule, in seconds' })
  },
  spec: (config) => ({
    ...PER_CALLER,
    windowSeconds: config.AUDIT_ALERT_DENIALS_WINDOW_S,
    threshold: config.AUDIT_ALERT_DENIALS_THRESHOLD,
    actions: ['denied'],
    autoBlock: true
  }),
  evaluator: perCallerEvaluator
})
