import type { Dataset } from '../../db/database.js'
import { FieldError } from '../../platform/errors.js'
import type { CreateConsent } from './schemas.js'

/** When the consent was given and until when it holds: given in the past, lapsing after it was given. */
export function checkPeriod (input: Pick<CreateConsent, 'givenAt' | 'expiresAt'>, now = new Date()): { givenAt: Date, expiresAt: Date | null } {
  const givenAt = new Date(input.givenAt)
  if (givenAt.getTime() > now.getTime()) throw new FieldError('givenAt', 'is in the future: record a consent once it has been given')
  const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt)
  if (expiresAt !== null && expiresAt.getTime() <= givenAt.getTime()) throw new FieldError('expiresAt', 'must be after givenAt')
  return { givenAt, expiresAt }
}

/**
 * The kind of consent a dataset's personal information takes: children's (under 14) only a
 * guardian's (R9.3); sensitive a separate consent (单独同意) or a guardian's, never a general one (R9.2).
 */
export function checkKind (kind: CreateConsent['kind'], dataset: Pick<Dataset, 'code' | 'sensitive_pi' | 'children_pi'>): void {
  if (dataset.children_pi && kind !== 'guardian') {
    throw new FieldError('kind', `dataset ${dataset.code} holds children's personal information: it takes a guardian's consent (R9.3)`)
  }
  if (dataset.sensitive_pi && kind === 'general') {
    throw new FieldError('kind', `dataset ${dataset.code} holds sensitive personal information: it takes a separate consent (单独同意) or a guardian's, not a general one (R9.2)`)
  }
}
