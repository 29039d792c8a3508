import { Type } from 'typebox'
import { PER_CALLER, perCallerEvaluator } from './per-caller.js'
import { defineRule } from './rule.js'

/** Rows of sensitive or children's personal information exported by one caller: bulk export of PI. */
export const sensitiveExport = defineRule({
  name: 'sensitive_export',
  description: 'rows of sensitive or children\'s personal information exported',
  summary: 'exports of sensitive or children\'s personal information (sensitive_export: 1,000 rows an hour)',
  counts: 'rows',
  details: 'datasets',
  settings: {
    AUDIT_ALERT_SENSITIVE_EXPORT_THRESHOLD: Type.Integer({ minimum: 1, maximum: 1000000000, default: 1000, description: 'alerts: rows of datasets holding sensitive or children\'s personal information exported by one caller within the window that raise a `sensitive_export` alert' }),
    AUDIT_ALERT_SENSITIVE_EXPORT_WINDOW_S: Type.Integer({ minimum: 1, maximum: 86400, default: 3600, description: 'alerts: window of the `sensitive_export` rule, in seconds' })
  },
  spec: (config) => ({
    ...PER_CALLER,
    windowSeconds: config.AUDIT_ALERT_SENSITIVE_EXPORT_WINDOW_S,
    threshold: config.AUDIT_ALERT_SENSITIVE_EXPORT_THRESHOLD,
    actions: ['export'],
    measure: 'rows',
    successOnly: true,
    datasets: 'sensitive_or_children'
  }),
  evaluator: perCallerEvaluator
})
