import type { Kysely } from 'kysely'
import { createDatasetReader } from '../../catalog/index.js'
import { openStateOf } from '../../catalog/index.js'
import type { Database, OpenRequest } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { newReceipt } from './receipt.js'
import { createOpenRequestRepository } from './repository.js'
import type { CreateOpenRequest } from './schemas.js'

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
