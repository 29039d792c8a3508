import { Type } from 'typebox'
import { campusCalendar } from '../../platform/calendar.js'
import { PER_CALLER, perCallerEvaluator, READS } from './per-caller.js'
import { defineRule } from './rule.js'

/** Important or children's data (R9.3) read or exported outside working hours. */
export const offHours = defineRule({
  name: 'off_hours',
  description: 'important or children\'s data read or exported outside working hours (campus time)',
  summary: 'reads of important or children\'s data outside working hours (off_hours: before 08:00, from 20:00 and at weekends, campus time)',
  counts: 'events',
  details: 'datasets',
  settings: {
    AUDIT_ALERT_WORK_START_HOUR: Type.Integer({ minimum: 0, maximum: 23, default: 8, description: 'alerts: working hours start at this hour, campus time (UTC+8); reads of important or children\'s data before it raise an `off_hours` alert' }),
    AUDIT_ALERT_WORK_END_HOUR: Type.Integer({ minimum: 1, maximum: 24, default: 20, description: 'alerts: working hours end at this hour, campus time (UTC+8); Saturdays and Sundays are outside them all day' }),
    AUDIT_ALERT_OFF_HOURS_THRESHOLD: Type.Integer({ minimum: 1, maximum: 100000, default: 1, description: 'alerts: reads and exports of important or children\'s data by one caller outside working hours within the window that raise an `off_hours` alert' }),
    AUDIT_ALERT_OFF_HOURS_WINDOW_S: Type.Integer({ minimum: 1, maximum: 86400, default: 3600, description: 'alerts: window of the `off_hours` rule, in seconds' })
  },
  check: (config, invalid) =>
    !invalid('AUDIT_ALERT_WORK_START_HOUR') && !invalid('AUDIT_ALERT_WORK_END_HOUR') && config.AUDIT_ALERT_WORK_START_HOUR >= config.AUDIT_ALERT_WORK_END_HOUR
      ? ['AUDIT_ALERT_WORK_END_HOUR: must be after AUDIT_ALERT_WORK_START_HOUR']
      : [],
  spec: (config) => {
    const { holidays, workdays } = campusCalendar(config)
    return {
      ...PER_CALLER,
      windowSeconds: config.AUDIT_ALERT_OFF_HOURS_WINDOW_S,
      threshold: config.AUDIT_ALERT_OFF_HOURS_THRESHOLD,
      actions: READS,
      successOnly: true,
      datasets: 'important_or_children',
      offHours: { startHour: config.AUDIT_ALERT_WORK_START_HOUR, endHour: config.AUDIT_ALERT_WORK_END_HOUR, holidays: [...holidays], workdays: [...workdays] }
    }
  },
  evaluator: perCallerEvaluator
})
