import { createHash, randomUUID } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import type { Config } from '../../config.js'
import type { Database, Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { addWorkingDays, campusCalendar } from '../../platform/calendar.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import type { SharingControl } from '../../platform/ports.js'
import { visibleDataset } from '../datasets/directory.js'
import { createDatasetRepository } from '../datasets/repository.js'
import type { Encryption } from '../encryption/plugin.js'
import { DatasetStateError } from '../errors.js'
import { createRecordRepository } from '../records/repository.js'
import { compileField, keyFromPath } from '../records/validate.js'
import { CorrectionForbiddenError, CorrectionNotFoundError, CorrectionStateError } from './errors.js'
import { storedProposal } from './proposal.js'
import { createCorrectionRepository } from './repository.js'
import type { Decision, ReportCorrection } from './schemas.js'
import type { RecordCorrection } from './table.js'
import { canSeeCorrection } from './view.js'

export type CorrectionSettings = Pick<Config, 'CORRECTION_DEADLINE_DAYS' | 'CAMPUS_HOLIDAYS' | 'CAMPUS_WORKDAYS'>

/** Not the key itself (often a student or ID number): a digest that someone who holds the key can match, as records.delete records. */
const keyDigest = (dataset: string, key: string) => createHash('sha256').update(`${dataset}\n${key}`).digest('hex')

/** What the audit log keeps of a correction: never its record key or proposed value. */
const about = (row: RecordCorrection) => ({ field: row.field, keyDigest: keyDigest(row.dataset_code, row.record_key) })

/**
 * Data-error correction (001 §33, §64(3)): units that use a dataset report errors in its records,
 * the producer unit decides and corrects them within a deadline on the campus calendar.
 */
export function createCorrectionWorkflow (db: Kysely<Database>, encryption: Encryption, settings: CorrectionSettings, sharing: SharingControl) {
  const datasets = createDatasetRepository(db)
  const records = createRecordRepository(db)
  const corrections = createCorrectionRepository(db)
  const calendar = campusCalendar(settings)

  /** The dataset as the caller may know it: another unit's draft does not exist for it. */
  async function visible (code: string, principal: Principal): Promise<Dataset> {
    return await visibleDataset(datasets, code, principal)
  }

  /** Reporters: a unit holding a live grant on the dataset, or the office on a person's behalf; never the producer itself. */
  async function assertReporter (principal: Principal, dataset: Dataset): Promise<void> {
    if (principal.roles.includes('security_admin')) return
    if (principal.unit === dataset.producer_unit) {
      throw new CorrectionForbiddenError(`the producer unit ${dataset.producer_unit} corrects the records of ${dataset.code} through ingest`)
    }
    if (!await sharing.holdsActiveGrant(dataset.code, principal.unit)) {
      throw new CorrectionForbiddenError(`errors in the records of ${dataset.code} are reported by units holding a grant on it, and by the data-management office`)
    }
  }

  /** The stored key of the record the report names, which must exist. */
  async function recordOf (dataset: Dataset, reported: string): Promise<string> {
    const key = dataset.primary_key.length === 1 ? reported : keyFromPath(reported, dataset.primary_key)
    if (key === null) throw new FieldError('recordKey', `must hold the ${dataset.primary_key.length} key values (${dataset.primary_key.join(', ')}), each URL-encoded, joined by ","`)
    if (!await records.find(dataset.code, key)) throw new FieldError('recordKey', `no record of dataset ${dataset.code} has this key`)
    return key
  }

  return {
    visible,

    async report (principal: Principal, code: string, body: ReportCorrection, requestId: string, now = new Date()): Promise<{ row: RecordCorrection, dataset: Dataset }> {
      const dataset = await visible(code, principal)
      if (dataset.status !== 'draft' && dataset.status !== 'published') throw new DatasetStateError(`dataset ${code} is ${dataset.status}: its records no longer change`)
      await assertReporter(principal, dataset)
      const field = dataset.fields.find((f) => f.name === body.field)
      if (!field) throw new FieldError('field', `is not a field of dataset ${code}`)
      const key = await recordOf(dataset, body.recordKey)
      if (body.proposedValue !== undefined) {
        // the field's own rules; the message names the rule, never the value
        const problem = compileField(field)(body.proposedValue)
        if (problem !== null) throw new FieldError('proposedValue', problem)
      }
      const id = randomUUID()
      // sealed before the transaction: a data key is never created inside one
      const proposal = await storedProposal(encryption, dataset, id, field.name, body.proposedValue)
      const row = await db.transaction().execute(async (trx) => {
        const row = await corrections.insert({
          id,
          dataset_code: code,
          record_key: key,
          field: field.name,
          description: body.description,
          ...proposal,
          reporter_unit: principal.unit,
          reporter_sub: principal.sub,
          reporter_client: principal.client ?? null,
          on_behalf: principal.roles.includes('security_admin'),
          due_at: addWorkingDays(now, settings.CORRECTION_DEADLINE_DAYS, calendar),
          reported_at: now
        }, trx)
        await recordEvent(trx, {
          service: 'catalog',
          action: 'correction.report',
          actor: principal,
          objectType: 'correction',
          objectId: id,
          dataset: code,
          requestId,
          details: { ...about(row), proposed: body.proposedValue !== undefined, onBehalf: row.on_behalf, dueAt: row.due_at.toISOString() }
        })
        return row
      })
      return { row, dataset }
    },

    /** One correction, if the caller may see it (404 otherwise, as for an absent one). */
    async get (principal: Principal, code: string, id: string): Promise<{ row: RecordCorrection, dataset: Dataset }> {
      const dataset = await visible(code, principal)
      const row = await corrections.find(code, id)
      if (!row || !canSeeCorrection(principal, dataset, row)) throw new CorrectionNotFoundError(id)
      return { row, dataset }
    },

    async decide (principal: Principal, code: string, id: string, body: Decision, requestId: string): Promise<{ row: RecordCorrection, dataset: Dataset }> {
      const dataset = await visible(code, principal)
      return await db.transaction().execute(async (trx) => {
        const row = await corrections.find(code, id, trx, { lock: true })
        if (!row || !canSeeCorrection(principal, dataset, row)) throw new CorrectionNotFoundError(id)
        if (!principal.roles.includes('steward') || principal.unit !== dataset.producer_unit) {
          throw new CorrectionForbiddenError(`a steward of the producer unit ${dataset.producer_unit} decides corrections of ${code}`)
        }
        if (row.status !== 'open') throw new CorrectionStateError(`correction ${id} is ${row.status}: it was decided already`)
        const decided = await corrections.decide(id, { status: body.decision === 'accept' ? 'accepted' : 'rejected', reason: body.reason, by: principal.sub }, trx)
        await recordEvent(trx, {
          service: 'catalog',
          action: 'correction.decide',
          actor: principal,
          objectType: 'correction',
          objectId: id,
          dataset: code,
          requestId,
          details: { ...about(row), decision: body.decision, reason: body.reason, reporterUnit: row.reporter_unit }
        })
        return { row: decided, dataset }
      })
    }
  }
}
export type CorrectionWorkflow = ReturnType<typeof createCorrectionWorkflow>

/**
 * Links an accepted correction to the ingest batch that makes it, in the batch's transaction: the
 * batch must have written the correction's record (else 409, and the batch rolls back with it).
 */
export async function resolveByBatch (trx: Transaction<Database>, input: {
  dataset: string, id: string, batch: string, written: ReadonlySet<string>, principal: Principal, requestId: string
}): Promise<void> {
  const corrections = createCorrectionRepository(trx)
  const row = await corrections.find(input.dataset, input.id, trx, { lock: true })
  if (!row) throw new CorrectionNotFoundError(input.id)
  if (row.status !== 'accepted') {
    throw new CorrectionStateError(row.status === 'open'
      ? `correction ${input.id} is not accepted yet: a steward decides it first (POST …/corrections/${input.id}/decision)`
      : `correction ${input.id} is ${row.status}${row.resolved_by_batch ? ` by batch ${row.resolved_by_batch}` : ''}: no batch makes it now`)
  }
  if (!input.written.has(row.record_key)) {
    throw new CorrectionStateError(`this batch does not write the record correction ${input.id} is about (absent, or rejected): nothing was stored`)
  }
  await corrections.resolve(input.id, { batch: input.batch, by: input.principal.sub }, trx)
  await recordEvent(trx, {
    service: 'catalog',
    action: 'correction.resolve',
    actor: input.principal,
    objectType: 'correction',
    objectId: input.id,
    dataset: input.dataset,
    requestId: input.requestId,
    details: { ...about(row), batch: input.batch, reporterUnit: row.reporter_unit }
  })
}
