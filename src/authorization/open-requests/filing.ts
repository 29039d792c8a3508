import type { Kysely, Transaction } from 'kysely'
import { createDatasetReader } from '../../catalog/index.js'
import { openStateOf } from '../../catalog/index.js'
import type { Database, OpenRequest, OpenRequestReview } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { domainEvents } from '../../platform/domain-events.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { OpenRequestNotFoundError, OpenRequestStateError } from './errors.js'
import { newReceipt } from './receipt.js'
import { createOpenRequestRepository, inScope, openRequestScope } from './repository.js'
import type { CreateOpenRequest, OpenRequestReview as OpenRequestDecision } from './schemas.js'
import { campusDayAfter } from './views.js'

const DEFAULT_VALIDITY_DAYS = 365
const event = domainEvents({ service: 'authorization', objectType: 'open_request', about: (r: OpenRequest) => ({ id: r.id, dataset: r.dataset_code }) })

/** Who files an open request: an outside applicant, with no campus identity. */
export const ANONYMOUS: Principal = { sub: 'anonymous', unit: '', roles: [] }

/**
 * Files an outside applicant's request for a dataset that is in the open catalog as conditional
 * open (R8.2), with its receipt. Nothing of the applicant goes into the event: its name and
 * contact are personal data, kept in the request only.
 */
export async function fileOpenRequest (db: Kysely<Database>, input: CreateOpenRequest, requestId: string): Promise<{ row: OpenRequest, receipt: string }> {
  const datasets = createDatasetReader(db)
  const requests = createOpenRequestRepository(db)
  const { receipt, sha256 } = newReceipt()
  const row = await db.transaction().execute(async (trx) => {
    const dataset = await datasets.find(input.dataset, trx)
    // the same answer for an unknown dataset and one outside the open catalog: drafts stay unseen
    if (!dataset || !(await openStateOf(trx, dataset)).open) {
      throw new FieldError('dataset', `no dataset with code ${input.dataset} is in the open catalog`)
    }
    if (dataset.open_attribute !== 'conditional') {
      throw new FieldError('dataset', `dataset ${input.dataset} is open without conditions: it needs no request`)
    }
    const known = dataset.fields.map((f) => f.name)
    const fields = input.fields ?? known
    fields.forEach((name, i) => {
      if (!known.includes(name)) throw new FieldError(`fields.${i}`, `dataset ${input.dataset} has no field ${name}`)
    })
    const created = await requests.insert({
      dataset_code: dataset.code,
      producer_unit: dataset.producer_unit,
      applicant_name: input.applicant.name,
      applicant_organisation: input.applicant.organisation,
      applicant_contact: input.applicant.contact,
      applicant_qualification: input.applicant.qualification,
      purpose: input.purpose,
      fields,
      scope: input.scope,
      status: 'pending_review',
      receipt_sha256: sha256
    }, trx)
    await recordEvent(trx, {
      service: 'authorization',
      action: 'open_request.create',
      actor: ANONYMOUS,
      objectType: 'open_request',
      objectId: created.id,
      dataset: dataset.code,
      requestId,
      details: { fields }
    })
    return created
  })
  return { row, receipt }
}

/** The request if the caller may see it (with `trx`, locked): another unit's is 404 for a steward. */
export async function visibleOpenRequest (db: Kysely<Database>, id: string, principal: Principal, trx?: Transaction<Database>): Promise<OpenRequest> {
  const row = await createOpenRequestRepository(db).find(id, trx ?? db, { lock: trx !== undefined })
  if (!row || !inScope(openRequestScope(principal), row)) throw new OpenRequestNotFoundError(id)
  return row
}

/**
 * The office's decision on a pending request, with its event, in one transaction that holds the
 * request's row lock: an approval needs the dataset conditional-open in the open catalog still, and
 * is valid until `validUntil` (default one year). The decision's fields are checked by the caller.
 */
export async function decideOpenRequest (
  db: Kysely<Database>, id: string, input: OpenRequestDecision, actor: Principal, requestId: string
): Promise<{ row: OpenRequest, review: OpenRequestReview }> {
  const datasets = createDatasetReader(db)
  const requests = createOpenRequestRepository(db)
  const { decision, reason, conditions, validUntil } = input
  return await db.transaction().execute(async (trx) => {
    const before = await visibleOpenRequest(db, id, actor, trx)
    if (before.status !== 'pending_review') throw new OpenRequestStateError(`open request ${before.id} is already ${before.status}`)
    if (decision === 'approve') {
      const dataset = await datasets.find(before.dataset_code, trx)
      const state = dataset && await openStateOf(trx, dataset)
      if (!dataset || !state?.open || dataset.open_attribute !== 'conditional') {
        throw new OpenRequestStateError(`dataset ${before.dataset_code} is no longer conditional-open in the open catalog` +
          `${state?.reason ? ` (${state.reason})` : ''}; the request can only be rejected`)
      }
    }
    const until = decision === 'approve' ? validUntil ?? campusDayAfter(DEFAULT_VALIDITY_DAYS) : null
    const decided = await requests.decide(before.id, {
      decision, reason: reason ?? null, conditions: conditions ?? null, validUntil: until, reviewer: actor
    }, trx)
    await event(trx, { actor, requestId }, `open_request.${decision}`, decided.request, {
      ...(reason !== undefined ? { reason } : {}), ...(until !== null ? { validUntil: until, conditions: conditions !== undefined } : {})
    })
    return { row: decided.request, review: decided.review }
  })
}
