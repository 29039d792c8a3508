import { perEventRule } from './per-event.js'

/**
 * A data-error correction passed its deadline undecided or uncorrected (001 §64(3)), reported once
 * by the catalog's deadline sweep; the event's unit is the producer, whose steward must act.
 */
export const correctionOverdue = perEventRule({
  name: 'correction_overdue',
  operation: 'correction.overdue',
  description: 'a reported data error was not decided or corrected in time (actor: the producer unit, whose steward must act)',
  summary: 'each data-error correction past its deadline (correction_overdue)'
})
