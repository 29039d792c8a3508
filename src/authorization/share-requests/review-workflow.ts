import { createHash } from 'node:crypto'
import type { Dataset, ReviewParty, ShareRequest, ShareRequestReview, ShareWorkflow } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { ReviewerForbiddenError, ReviewOutOfOrderError } from '../errors.js'
import { canSee } from '../visibility.js'

/**
 * Who must approve a request, from the dataset's share attribute (R2.4, R7.2, R7.3):
 * - `none` (不予共享): refused at once, with the reason stated;
 * - `unconditional` (无条件共享): approved by rule, still needs the usage commitment;
 * - `conditional` (有条件共享) basic staff or student data: the office alone;
 * - `conditional` otherwise: the producer unit's steward and the office, then a tripartite agreement.
 * Three things are never approved by rule: a request covering so many persons that the authority's
 * approval is needed (R9.4), which the office must record; an export, since nothing leaves the
 * platform without the office's consent (R7.9); and a third party's analysis, which needs a review
 * (001 §42). Data provided outside the university (对外提供) always needs the producer, the office and
 * then the leading group (001 §42, §58), and on conditional data the tripartite agreement as well.
 */
export function workflowOf (dataset: Dataset, { needsExternalApproval, exports, thirdParty, external }: WorkflowInput): { workflow: ShareWorkflow, needsAgreement: boolean } {
  if (dataset.share_attribute === 'none') return { workflow: 'none', needsAgreement: false }
  if (external) return { workflow: 'producer_office_leadership', needsAgreement: dataset.share_attribute === 'conditional' }
  switch (dataset.share_attribute) {
    case 'unconditional': return { workflow: needsExternalApproval || exports || thirdParty ? 'office' : 'rule', needsAgreement: false }
    default: return dataset.personnel_basic
      ? { workflow: 'office', needsAgreement: false }
      : { workflow: 'producer_office', needsAgreement: true }
  }
}

interface WorkflowInput { needsExternalApproval: boolean, exports: boolean, thirdParty: boolean, external: boolean }

export type Reviewer = Exclude<ReviewParty, 'rule'>

/** The reviewers a workflow needs; for data leaving the university, in this order. */
export function reviewersOf (workflow: ShareWorkflow): Reviewer[] {
  switch (workflow) {
    case 'office': return ['office']
    case 'producer_office': return ['producer', 'office']
    case 'producer_office_leadership': return ['producer', 'office', 'leadership']
    default: return []
  }
}

/**
 * Data provided outside the university is reviewed in order: the producer, then the office, then
 * the leading group; a review out of turn is a 409 naming who reviews first.
 */
export function checkTurn (workflow: ShareWorkflow, party: Reviewer, reviews: readonly ShareRequestReview[]): void {
  if (workflow !== 'producer_office_leadership') return
  const next = reviewersOf(workflow).find((p) => !reviews.some((r) => r.party === p))
  if (next !== undefined && next !== party) {
    throw new ReviewOutOfOrderError(`data provided outside the university is reviewed by the producer, then the office, then the leading group: the ${next} reviews first`)
  }
}

/**
 * Who sees a request: the parties of the share (see ../visibility.ts) and, for a request that takes
 * data outside the university, the leading group, which reviews it last.
 */
export function canSeeRequest (principal: Principal, r: ShareRequest): boolean {
  return canSee(principal, r) || (r.external && principal.roles.includes('leadership'))
}

export type Awaiting = Reviewer | 'commitment' | 'agreement'

/** What a request still lacks before its grant exists. */
export function awaitingOf (request: ShareRequest, reviews: readonly ShareRequestReview[], agreementSigned: boolean): Awaiting[] {
  if (request.status === 'rejected' || request.status === 'withdrawn' || request.status === 'active') return []
  const missing: Awaiting[] = reviewersOf(request.workflow).filter((p) => !reviews.some((r) => r.party === p && r.decision === 'approve'))
  if (request.commitment === null) missing.push('commitment')
  if (request.needs_agreement && !agreementSigned) missing.push('agreement')
  return missing
}

const CANNOT: Record<Reviewer, (r: ShareRequest) => string> = {
  office: () => 'only the data-management office (security_admin) reviews as the office',
  producer: (r) => `only a steward of the producer unit ${r.producer_unit} reviews as the producer`,
  leadership: () => 'only the leading group (leadership) reviews as the leadership'
}

/**
 * The reviewer a caller acts as. The office (security_admin) reviews as the office; a steward of the
 * producer unit as the producer; the leading group (leadership) as the leadership. Anyone else, or a
 * reviewer the workflow does not call for, is 403.
 */
export function reviewPartyOf (principal: Principal, request: ShareRequest, asked?: Reviewer): Reviewer {
  const can: Record<Reviewer, boolean> = {
    office: principal.roles.includes('security_admin'),
    producer: principal.roles.includes('steward') && principal.unit === request.producer_unit,
    leadership: principal.roles.includes('leadership')
  }
  const party = asked ?? (can.office ? 'office' : can.producer || !can.leadership ? 'producer' : 'leadership')
  if (!can[party]) throw new ReviewerForbiddenError(CANNOT[party](request))
  if (!reviewersOf(request.workflow).includes(party)) {
    throw new ReviewerForbiddenError(request.workflow === 'office'
      ? 'this request is reviewed by the office alone (R7.3)'
      : party === 'leadership'
        ? 'the leading group reviews only data provided outside the university (001 §58)'
        : 'this request needs no review: it was decided by the dataset\'s share attribute')
  }
  return party
}

/** Hex digests of a signed text, SHA-256 and SM3 (GB/T 32905) side by side. */
export function digestsOf (text: string): { sha256: string, sm3: string } {
  return {
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
    sm3: createHash('sm3').update(text, 'utf8').digest('hex')
  }
}

const describe = (r: ShareRequest) => [
  `Dataset: ${r.dataset_code}, produced by unit ${r.producer_unit}`,
  `Consumer: unit ${r.consumer_unit}${r.subject ? `, for ${r.subject} alone` : ''}`,
  `Data elements: ${r.fields.join(', ')}`,
  `Rows: ${Object.keys(r.row_filter).length === 0 ? 'all' : JSON.stringify(r.row_filter)}`,
  `Purpose: ${r.purpose}`,
  `Legal basis: ${r.legal_basis}`,
  `Access: ${r.access_modes.join(', ')}; at most ${r.daily_row_quota} rows a day`,
  `Period: ${r.valid_from} to ${r.valid_until}`,
  `Third-party analysis: ${r.third_party ? `yes (${r.third_party_name ?? 'unnamed'}), masked data only` : 'no'}`,
  `Provided outside the university (对外提供): ${r.external ? `yes, to ${r.recipient_name ?? 'unnamed'} (${r.recipient_kind ?? 'other'}), after review by the producer unit, the office and the leading group` : 'no'}`,
  ...(r.renews ? [`Renews grant ${r.renews}, which ends the day before this grant starts`] : [])
].join('\n')

/** The usage commitment (数据使用承诺书, annex 2 of the measures; R7.4, R7.6) for a request. */
export function commitmentText (r: ShareRequest): string {
  return [
    'USAGE COMMITMENT (数据使用承诺书)',
    `Share request ${r.id}`,
    describe(r),
    'The consumer unit undertakes:',
    '1. to use the data only for the purpose stated above, and for nothing else;',
    '2. not to pass the data on, publish it or open it without a new written application to the producer unit and the data-management office;',
    '3. to give any third party that analyses the data masked data only;',
    '4. to protect the data with measures fitting its grade, and to report any leak at once;',
    '5. to stop using the data and delete every copy when the period ends or the grant is revoked.'
  ].join('\n')
}

/** The tripartite agreement (三方协议, R7.3; content per 002 §24) for a request. */
export function agreementText (r: ShareRequest): string {
  return [
    'TRIPARTITE DATA SHARING AGREEMENT (数据共享三方协议)',
    `Share request ${r.id}`,
    `Parties: consumer unit ${r.consumer_unit}, producer unit ${r.producer_unit}, the data-management office`,
    describe(r),
    'Rights and duties:',
    '- the producer unit supplies the data through the platform, current and accurate, within the scope above;',
    '- the consumer unit uses it only for the stated purpose, protects it, does not pass it on, and deletes it at the end of the period;',
    '- the data-management office supervises the exchange, keeps its audit trail and may suspend or revoke the grant on any breach.'
  ].join('\n')
}
