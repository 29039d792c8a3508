import type { Kysely, Transaction } from 'kysely'
import { domainEvents } from '../../platform/domain-events.js'
import { canSee } from '../../catalog/index.js'
import { createDatasetReader } from '../../catalog/index.js'
import { blindFor, checkSealedFilter } from '../../catalog/index.js'
import type { Encryption } from '../../catalog/index.js'
import type { Config } from '../../config.js'
import type { Database, Dataset, ShareRequest } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { addWorkingDays, campusCalendar, campusToday } from '../../platform/calendar.js'
import { FieldError } from '../../platform/errors.js'
import { createAgreementRepository } from '../agreements/repository.js'
import {
  AlreadyReviewedError, NotConsumerError, RequestExpiredError, ReviewerForbiddenError, ShareRequestNotFoundError, ShareRequestStateError
} from '../errors.js'
import { purposeInUse } from '../purposes/repository.js'
import { activateIfReady } from './activation.js'
import { checkRenewal } from './renewal.js'
import { createShareRequestRepository } from './repository.js'
import {
  agreementText, canSeeRequest, checkTurn, commitmentText, digestsOf, reviewersOf, reviewPartyOf, workflowOf, type Reviewer
} from './review-workflow.js'
import type { CreateShareRequest, Review } from './schemas.js'

type Trx = Transaction<Database>
type Settings = Pick<Config, 'REVIEW_DEADLINE_DAYS' | 'PI_EXTERNAL_APPROVAL_PERSONS' | 'CAMPUS_HOLIDAYS' | 'CAMPUS_WORKDAYS'>

/** Longest validity a request may ask for. */
export const MAX_VALIDITY_DAYS = 3 * 366

const daysBetween = (from: string, until: string) => (Date.parse(until) - Date.parse(from)) / 86_400_000
const event = domainEvents({ service: 'authorization', objectType: 'share_request', about: (r: ShareRequest) => ({ id: r.id, dataset: r.dataset_code }) })

/** The share-request workflow: filing, reviews, the commitment, withdrawal; grants follow from them. */
export function createShareRequestService (db: Kysely<Database>, settings: Settings, encryption: Encryption) {
  const requests = createShareRequestRepository(db)
  const datasets = createDatasetReader(db)
  const calendar = campusCalendar(settings)

  /** A request the caller may see, locked for a change; others' are 404. */
  async function load (id: string, actor: Principal, trx: Trx): Promise<ShareRequest> {
    const r = await requests.find(id, trx, { lock: true })
    if (!r || !canSeeRequest(actor, r)) throw new ShareRequestNotFoundError(id)
    return r
  }

  /**
   * The purpose a request names: one in use; required where the use rests on consent, as it does
   * for sensitive and children's personal information whatever the request says (R9.1–R9.3).
   */
  async function checkPurpose (input: CreateShareRequest, dataset: Dataset, trx: Trx): Promise<string | null> {
    if (input.purposeCode !== undefined) return (await purposeInUse(trx, input.purposeCode)).code
    const why = input.consentBased === true ? 'the request rests on consent' : dataset.sensitive_pi ? 'the dataset holds sensitive personal information' : dataset.children_pi ? 'the dataset holds children\'s personal information' : null
    if (why) throw new FieldError('purposeCode', `${why}: name the purpose the persons' consents must be for (GET /api/v1/purposes)`)
    return null
  }

  function checkRequest (input: CreateShareRequest, dataset: Dataset | null, actor: Principal): Dataset {
    if (!dataset || !canSee(actor, dataset)) throw new FieldError('dataset', `no dataset with code ${input.dataset}`)
    if (dataset.status !== 'published') throw new FieldError('dataset', `dataset ${dataset.code} is ${dataset.status}: only published datasets are shared`)
    if (dataset.producer_unit === actor.unit) {
      throw new FieldError('dataset', 'your unit produces this dataset: it needs no share request')
    }
    input.fields.forEach((name, i) => {
      if (!dataset.fields.some((f) => f.name === name)) throw new FieldError(`fields.${i}`, `dataset ${dataset.code} has no field ${name}`)
    })
    const today = campusToday()
    if (input.validUntil < input.validFrom) throw new FieldError('validUntil', 'must not be before validFrom')
    if (input.validUntil < today) throw new FieldError('validUntil', 'is in the past')
    if (daysBetween(input.validFrom, input.validUntil) > MAX_VALIDITY_DAYS) throw new FieldError('validUntil', 'a grant lasts at most three years; apply again then')
    if (input.thirdParty && !input.thirdPartyName) throw new FieldError('thirdPartyName', 'name the third party that will analyse the data')
    if (!input.thirdParty && input.thirdPartyName) throw new FieldError('thirdPartyName', 'only with thirdParty: true')
    if (input.thirdParty && dataset.children_pi) {
      throw new FieldError('thirdParty', 'children\'s personal information is never shared with a third party (R9.3)')
    }
    checkExternal(input, dataset)
    return dataset
  }

  return {
    async create (input: CreateShareRequest, actor: Principal, requestId: string): Promise<ShareRequest> {
      // the blind indexes of sealed fields the filter names, for counting its persons: asked before
      // the transaction, as a data key is never made inside one
      const named = input.rowFilter && Object.keys(input.rowFilter).length > 0 ? await datasets.find(input.dataset) : undefined
      const blind = named ? await blindFor(encryption, named, input.rowFilter!) : null
      return await db.transaction().execute(async (trx) => {
        const dataset = checkRequest(input, await datasets.find(input.dataset, trx), actor)
        const rowFilter = checkSealedFilter(input.rowFilter ?? {}, dataset, 'rowFilter')
        const purposeCode = await checkPurpose(input, dataset, trx)
        const personCount = dataset.holds_pi ? await requests.personCount(dataset.code, rowFilter, dataset.fields, blind, trx) : null
        const needsExternalApproval = personCount !== null && personCount >= settings.PI_EXTERNAL_APPROVAL_PERSONS
        if (input.renews !== undefined) await checkRenewal(trx, input.renews, input, actor)
        const external = input.external ?? false
        const { workflow, needsAgreement } = workflowOf(dataset, {
          needsExternalApproval, exports: input.accessModes.includes('export'), thirdParty: input.thirdParty, external
        })
        const refused = workflow === 'none'
          ? `dataset ${dataset.code} is not shareable (不予共享): its producer shares it only where a law requires, which is decided outside this workflow (R2.4)`
          : null
        const r = await requests.insert({
          dataset_code: dataset.code,
          producer_unit: dataset.producer_unit,
          consumer_unit: actor.unit,
          subject: input.subject ?? null,
          requested_by: actor.sub,
          requested_client: actor.client ?? null,
          fields: input.fields,
          row_filter: JSON.stringify(rowFilter),
          purpose: input.purpose,
          legal_basis: input.legalBasis,
          access_modes: input.accessModes,
          valid_from: input.validFrom,
          valid_until: input.validUntil,
          daily_row_quota: input.dailyRowQuota,
          third_party: input.thirdParty,
          third_party_name: input.thirdPartyName ?? null,
          consent_based: input.consentBased ?? false,
          purpose_code: purposeCode,
          workflow,
          needs_agreement: needsAgreement,
          status: refused ? 'rejected' : workflow === 'rule' ? 'approved' : 'pending_review',
          decision_reason: refused,
          review_due_at: reviewersOf(workflow).length > 0 ? addWorkingDays(new Date(), settings.REVIEW_DEADLINE_DAYS, calendar) : null,
          overdue_reported_at: null,
          unmasked_reason: null,
          collective_decision: null,
          external_approval: null,
          person_count: personCount,
          external,
          recipient_name: input.recipient?.name ?? null,
          recipient_kind: input.recipient?.kind ?? null,
          renews: input.renews ?? null
        }, trx)
        if (workflow === 'none' || workflow === 'rule') {
          await requests.addReview({
            requestId: r.id,
            party: 'rule',
            decision: refused ? 'reject' : 'approve',
            reason: refused ?? 'the dataset is shared unconditionally (无条件共享)',
            reviewer: { sub: 'system:rules', unit: dataset.producer_unit }
          }, trx)
        }
        await event(trx, { actor, requestId }, 'share_request.create', r, {
          consumerUnit: r.consumer_unit,
          fields: r.fields,
          rowFilter,
          accessModes: r.access_modes,
          workflow,
          status: r.status,
          thirdParty: r.third_party,
          external: r.external,
          consentBased: r.consent_based,
          purposeCode: r.purpose_code,
          // the recipient's kind only: its name may be a person's, and stays on the request
          ...(r.external ? { recipientKind: r.recipient_kind } : {}),
          ...(r.renews ? { renews: r.renews } : {}),
          personCount
        })
        return r
      })
    },

    async review (id: string, input: Review, actor: Principal, requestId: string): Promise<ShareRequest> {
      return await db.transaction().execute(async (trx) => {
        const before = await load(id, actor, trx)
        if (before.status !== 'pending_review') throw new ShareRequestStateError(`the request is ${before.status}: there is nothing to review`)
        const party = reviewPartyOf(actor, before, input.party)
        // separation of duties: nobody approves their own request, and one person gives one review
        if (before.requested_by === actor.sub) throw new ReviewerForbiddenError(`${actor.sub} filed this request: its reviewers are other people`)
        const reviews = await requests.reviewsOf([id], trx)
        if (reviews.some((r) => r.party === party)) throw new AlreadyReviewedError(`the ${party} has already reviewed this request`)
        const own = reviews.find((r) => r.reviewer_sub === actor.sub)
        if (own) throw new ReviewerForbiddenError(`${actor.sub} already reviewed this request as the ${own.party}: its reviews are by different people`)
        checkTurn(before.workflow, party, reviews)
        if (input.decision === 'reject') {
          if (!input.reason) throw new FieldError('reason', 'a rejection must state its reason (R7.1)')
          for (const name of ['collectiveDecision', 'externalApproval', 'unmasked', 'unmaskedReason'] as const) {
            if (input[name] !== undefined) throw new FieldError(name, 'only with an approval')
          }
        } else {
          if (before.valid_until < campusToday()) throw new RequestExpiredError(`the requested period ended on ${before.valid_until}: it can no longer be approved`)
          const dataset = (await datasets.find(before.dataset_code, trx))!
          checkApproval(input, party, before, dataset, settings)
        }

        await requests.addReview({
          requestId: id,
          party,
          decision: input.decision,
          reason: input.reason ?? null,
          reviewer: actor,
          details: {
            ...(input.collectiveDecision ? { collectiveDecision: input.collectiveDecision } : {}),
            ...(input.externalApproval ? { externalApproval: input.externalApproval } : {}),
            ...(input.unmasked ? { unmasked: true, unmaskedReason: input.unmaskedReason } : {})
          }
        }, trx)
        let after: ShareRequest
        if (input.decision === 'reject') {
          after = await requests.update(id, { status: 'rejected', decision_reason: `rejected by the ${party}: ${input.reason}` }, trx)
        } else {
          const approvedBy = new Set([...reviews.filter((r) => r.decision === 'approve').map((r) => r.party), party])
          const complete = reviewersOf(before.workflow).every((p) => approvedBy.has(p))
          after = await requests.update(id, {
            ...(complete ? { status: 'approved' as const } : {}),
            ...(party === 'office'
              ? {
                  collective_decision: input.collectiveDecision ?? null,
                  external_approval: input.externalApproval ?? null,
                  ...(input.unmasked ? { masked: false, unmasked_reason: input.unmaskedReason! } : {})
                }
              : {})
          }, trx)
          if (complete && after.needs_agreement) {
            const content = agreementText(after)
            await createAgreementRepository(trx).insert({
              requestId: id, consumerUnit: after.consumer_unit, producerUnit: after.producer_unit, content, digests: digestsOf(content)
            }, trx)
          }
        }
        await event(trx, { actor, requestId }, `share_request.${input.decision}`, after, {
          party, reason: input.reason ?? null, before: { status: before.status }, after: { status: after.status, masked: after.masked }
        })
        return (await activateIfReady(trx, after, actor, requestId)).request
      })
    },

    /** The consumer signs the usage commitment (R7.4); the grant follows if nothing else is missing. */
    async commit (id: string, actor: Principal, requestId: string): Promise<ShareRequest> {
      return await db.transaction().execute(async (trx) => {
        const before = await load(id, actor, trx)
        if (before.consumer_unit !== actor.unit) throw new NotConsumerError(`only unit ${before.consumer_unit}, the consumer, signs the usage commitment`)
        if (before.status !== 'pending_review' && before.status !== 'approved') throw new ShareRequestStateError(`the request is ${before.status}`)
        if (before.commitment !== null) throw new ShareRequestStateError('the usage commitment is already signed')
        const text = commitmentText(before)
        const digests = digestsOf(text)
        const commitment = { text, ...digests, signerSub: actor.sub, signerUnit: actor.unit, signedAt: new Date().toISOString() }
        const after = await requests.update(id, { commitment: JSON.stringify(commitment) }, trx)
        await event(trx, { actor, requestId }, 'share_request.commit', after, { digest: digests, before: { commitment: null }, after: { commitment: 'signed', signer: actor.sub } })
        return (await activateIfReady(trx, after, actor, requestId)).request
      })
    },

    /** The consumer takes back a request that has no grant yet. */
    async withdraw (id: string, reason: string, actor: Principal, requestId: string): Promise<ShareRequest> {
      return await db.transaction().execute(async (trx) => {
        const before = await load(id, actor, trx)
        if (before.consumer_unit !== actor.unit) throw new NotConsumerError(`only unit ${before.consumer_unit}, the consumer, withdraws its request`)
        if (before.status !== 'pending_review' && before.status !== 'approved') {
          throw new ShareRequestStateError(`the request is ${before.status}${before.status === 'active' ? ': revoke its grant instead' : ''}`)
        }
        const after = await requests.update(id, { status: 'withdrawn', decision_reason: `withdrawn by the consumer: ${reason}` }, trx)
        await createAgreementRepository(trx).voidFor(id, trx)
        await event(trx, { actor, requestId }, 'share_request.withdraw', after, { reason, before: { status: before.status } })
        return after
      })
    }
  }
}

/**
 * Data provided outside the university (对外提供, 001 §42) names its recipient; children's personal
 * information is never provided outside (R9.3).
 */
function checkExternal (input: CreateShareRequest, dataset: Dataset) {
  if (input.external === true) {
    if (!input.recipient) throw new FieldError('recipient', 'name the recipient outside the university: {name, kind}')
    if (dataset.children_pi) throw new FieldError('external', 'children\'s personal information is never provided outside the university (R9.3)')
  } else if (input.recipient !== undefined) {
    throw new FieldError('recipient', 'only with external: true')
  }
}

/**
 * What an approval must carry (R9.2, R9.4, R7.6): sensitive personal information needs the office's
 * reference to a collective decision; 200,000 persons or more the authority's approval; unmasked
 * access only from the office, for a named reason, never for a third party.
 */
function checkApproval (input: Review, party: Reviewer, request: ShareRequest, dataset: Dataset, settings: Settings) {
  if (party !== 'office') {
    for (const name of ['collectiveDecision', 'externalApproval', 'unmasked', 'unmaskedReason'] as const) {
      if (input[name] !== undefined) throw new FieldError(name, 'only the office records this')
    }
    return
  }
  if (dataset.sensitive_pi && !input.collectiveDecision) {
    throw new FieldError('collectiveDecision', 'the dataset holds sensitive personal information: give the reference of the collective decision (R9.2)')
  }
  if (request.person_count !== null && request.person_count >= settings.PI_EXTERNAL_APPROVAL_PERSONS && !input.externalApproval) {
    throw new FieldError('externalApproval', `the request covers ${request.person_count} persons: sharing ${settings.PI_EXTERNAL_APPROVAL_PERSONS} or more needs the authority's approval (R9.4)`)
  }
  if (input.unmasked === true) {
    if (request.third_party) throw new FieldError('unmasked', 'a third party only ever gets masked data (R7.6)')
    if (!input.unmaskedReason) throw new FieldError('unmaskedReason', 'name the reason unmasked access is needed')
  } else if (input.unmaskedReason !== undefined) {
    throw new FieldError('unmaskedReason', 'only with unmasked: true')
  }
}
