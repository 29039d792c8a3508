import type { Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { isOffice } from '../../platform/auth/roles.js'

/**
 * Who sees what of the catalog (metadata access control, R2.8). The office (security_admin) and the
 * auditors see every entry; a unit sees its own drafts; everyone authenticated sees published,
 * retired and destroyed entries, except the field list of a restricted important dataset.
 */
export function isProducer (principal: Principal, row: Dataset): boolean {
  return principal.unit === row.producer_unit
}

/** Whether the entry exists for this caller at all (drafts are the producer's and the office's). */
export function canSee (principal: Principal, row: Dataset): boolean {
  return row.status !== 'draft' || isProducer(principal, row) || isOffice(principal)
}

/** Which drafts a caller's searches include: every one for the office, else its unit's. */
export function draftScope (principal: Principal): string | 'all' {
  return isOffice(principal) ? 'all' : principal.unit
}

/**
 * Units with a stake in a restricted dataset: those holding a grant on it or with a share request
 * under way. Grants and share requests belong to the authorization service, which answers this
 * question (src/authorization/interest.ts); without an answer no other unit qualifies.
 */
export type InterestCheck = (dataset: string, unit: string) => Promise<boolean>
export const noInterest: InterestCheck = async () => false

/** Whether the field list is withheld from this caller. */
export async function fieldsHidden (principal: Principal, row: Dataset, hasInterest: InterestCheck = noInterest): Promise<boolean> {
  if (!row.metadata_restricted || row.grade !== 'important') return false
  if (isProducer(principal, row) || isOffice(principal)) return false
  return !(await hasInterest(row.code, principal.unit))
}
