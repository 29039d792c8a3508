import type { Transaction } from 'kysely'
import type { Database, Grant, ShareRequest } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { recordEvent } from '../../platform/events.js'
import { createAgreementRepository } from '../agreements/repository.js'
import { createGrantRepository } from '../grants/repository.js'
import { endRenewedGrant } from './renewal.js'
import { createShareRequestRepository } from './repository.js'
import { awaitingOf } from './review-workflow.js'

type Trx = Transaction<Database>

/**
 * Creates the grant of an approved request once nothing is missing: every approval, the usage
 * commitment and, where required, the signed tripartite agreement (R7.2–R7.4). Runs inside the
 * transaction of the step that completed the set, with the request's row locked.
 */
export async function activateIfReady (trx: Trx, request: ShareRequest, actor: Principal, requestId: string): Promise<{ request: ShareRequest, grant: Grant | null }> {
  if (request.status !== 'approved') return { request, grant: null }
  const requests = createShareRequestRepository(trx)
  const agreement = request.needs_agreement ? await createAgreementRepository(trx).findByRequest(request.id, trx) : undefined
  const reviews = await requests.reviewsOf([request.id], trx)
  if (awaitingOf(request, reviews, agreement?.status === 'signed').length > 0) return { request, grant: null }

  const dataset = await trx.selectFrom('datasets').select(['children_pi', 'sensitive_pi']).where('code', '=', request.dataset_code).executeTakeFirstOrThrow()
  const grant = await createGrantRepository(trx).insert({
    share_request_id: request.id,
    consumer_unit: request.consumer_unit,
    subject: request.subject,
    dataset_code: request.dataset_code,
    producer_unit: request.producer_unit,
    fields: request.fields,
    row_filter: JSON.stringify(request.row_filter),
    purpose: request.purpose,
    access_modes: request.access_modes,
    valid_from: request.valid_from,
    valid_until: request.valid_until,
    daily_row_quota: request.daily_row_quota,
    // masked unless the office approved otherwise for a named reason; never for a third party (R7.6)
    masked: request.masked || request.third_party,
    third_party: request.third_party,
    children_pi: dataset.children_pi,
    // a grant on sensitive or children's data rests on consent whatever its request said (R9.2, R9.3):
    // it serves only the rows of persons holding a valid consent for its purpose (the data path checks)
    consent_based: request.consent_based || dataset.sensitive_pi || dataset.children_pi,
    purpose_code: request.purpose_code,
    status: 'active',
    status_reason: null,
    status_changed_by: null,
    status_changed_at: null
  }, trx)
  const activated = await requests.update(request.id, { status: 'active' }, trx)
  await recordEvent(trx, {
    service: 'authorization',
    action: 'grant.grant',
    actor,
    objectType: 'grant',
    objectId: grant.id,
    dataset: grant.dataset_code,
    requestId,
    details: {
      shareRequest: request.id,
      consumerUnit: grant.consumer_unit,
      subject: grant.subject,
      fields: grant.fields,
      accessModes: grant.access_modes,
      validFrom: grant.valid_from,
      validUntil: grant.valid_until,
      masked: grant.masked,
      ...(request.renews ? { renews: request.renews } : {}),
      childrenData: grant.children_pi,
      consentBased: grant.consent_based,
      purposeCode: grant.purpose_code,
      status: grant.status
    }
  })
  await endRenewedGrant(trx, request, grant, actor, requestId)
  return { request: activated, grant }
}
