import { perEventRule } from './per-event.js'

/**
 * A live grant fell due for re-certification (004 §25), reported once per period by the
 * authorization service's sweep; the event's unit is the producer, whose steward must act.
 */
export const recertificationDue = perEventRule({
  name: 'recertification_due',
  operation: 'grant.recertification_due',
  description: 'a live grant fell due for re-certification (actor: the producer unit, whose steward must keep or revoke it)',
  summary: 'each grant falling due for re-certification (recertification_due)'
})
