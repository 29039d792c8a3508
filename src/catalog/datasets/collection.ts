import type { Dataset } from '../../db/database.js'
import { FieldError } from '../../platform/errors.js'

/**
 * The collection record the office needs before it confirms a dataset (R3.2; 002 §19, 003 2(1)):
 * personal information is collected only with a stated method, channel, scope, frequency, legal
 * basis and collection rules, after a risk assessment; sensitive and children's personal
 * information also after a necessity assessment and the unit leadership's collective decision
 * (001 §51, 003 3(4)). `volume` is recorded when known and not required.
 */
const REQUIRED = ['method', 'channel', 'scope', 'frequency', 'legalBasis', 'rules', 'riskAssessment'] as const
const SENSITIVE = ['necessityAssessment', 'collectiveDecision'] as const

type Terms = Pick<Dataset, 'holds_pi' | 'sensitive_pi' | 'children_pi' | 'collection'>

/** Refuses a confirmation whose collection record lacks a part, naming the first one missing. */
export function checkCollection (d: Terms): void {
  if (!d.holds_pi) return
  const kind = d.sensitive_pi || d.children_pi ? 'sensitive or children\'s personal information' : 'personal information'
  if (d.collection === null) {
    throw new FieldError('collection', `is required: the dataset holds ${kind}; state ${[...REQUIRED, ...(kind === 'personal information' ? [] : SENSITIVE)].join(', ')}`)
  }
  const needed = d.sensitive_pi || d.children_pi ? [...REQUIRED, ...SENSITIVE] : REQUIRED
  const missing = needed.filter((part) => d.collection![part] === undefined)
  if (missing.length > 0) {
    throw new FieldError(`collection.${missing[0]!}`, `is required before the office confirms a dataset holding ${kind} (missing: ${missing.join(', ')})`)
  }
}

/**
 * Whether records of the dataset may be collected: sensitive or children's personal information
 * only once the office has confirmed (a published dataset's terms always are).
 */
export function collectionAllowed (d: Pick<Dataset, 'status' | 'grading_status' | 'sensitive_pi' | 'children_pi'>): boolean {
  return !(d.sensitive_pi || d.children_pi) || d.status !== 'draft' || d.grading_status === 'confirmed'
}
