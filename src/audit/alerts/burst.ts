import { Type } from 'typebox'
import { PER_CALLER, perCallerEvaluator, READS } from './per-caller.js'
import { defineRule } from './rule.js'

/** Reads or exports from one caller far beyond routine use. */
export const burst = defineRule({
  name: 'burst',
  description: 'reads and exports',
  summary: 'bursts of reads and exports (600 a minute)',
  counts: 'events',
  settings: {
    AUDIT_ALERT_BURST_THRESHOLD: Type.Integer({ minimum: 1, maximum: 100000000, default: 600, description: 'alerts: reads and exports of one caller within the window that raise a `burst` alert' }),
    AUDIT_ALERT_BURST_WINDOW_S: Type.Integer({ minimum: 1, maximum: 86400, default: 60, description: 'alerts: window of the `burst` rule, in seconds' })
  },
  spec: (config) => ({ ...PER_CALLER, windowSeconds: config.AUDIT_ALERT_BURST_WINDOW_S, threshold: config.AUDIT_ALERT_BURST_THRESHOLD, actions: READS }),
  evaluator: perCallerEvaluator
})
