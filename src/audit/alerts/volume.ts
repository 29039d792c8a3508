import { Type } from 'typebox'
import { PER_CALLER, perCallerEvaluator, READS } from './per-caller.js'
import { defineRule } from './rule.js'

/** Rows taken out by one caller: bulk extraction. */
export const volume = defineRule({
  name: 'volume',
  description: 'rows taken out',
  summary: 'bulk extraction (100,000 rows an hour)',
  counts: 'rows',
  settings: {
    AUDIT_ALERT_VOLUME_THRESHOLD: Type.Integer({ minimum: 1, maximum: 1000000000, default: 100000, description: 'alerts: rows read or exported by one caller within the window that raise a `volume` alert' }),
    AUDIT_ALERT_VOLUME_WINDOW_S: Type.Integer({ minimum: 1, maximum: 86400, default: 3600, description: 'alerts: window of the `volume` rule, in seconds' })
  },
  spec: (config) => ({
    ...PER_CALLER,
    windowSeconds: config.AUDIT_ALERT_VOLUME_WINDOW_S,
    threshold: config.AUDIT_ALERT_VOLUME_THRESHOLD,
    actions: READS,
    measure: 'rows'
  }),
  evaluator: perCallerEvaluator
})
