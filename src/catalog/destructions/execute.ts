import type { Kysely, Transaction } from 'kysely'
import type { RowFilter } from '../../platform/row-filter.js'
import type { Database, Dataset, Destruction, DestructionReview } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import type { SharingControl } from '../../platform/ports.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { createDatasetRepository } from '../datasets/repository.js'
import { DatasetStateError } from '../errors.js'
import type { Encryption } from '../encryption/plugin.js'
import { buildCertificate, keyDigests } from './certificate.js'
import { shredDataKey, type ShreddedKey } from './crypto-shred.js'
import { checkDuties } from './duties.js'
import { DestructionNotFoundError, DestructionStateError } from './errors.js'
import { createDestructionRepository } from './repository.js'
import { blindFor } from '../encryption/filter.js'
import { checkFilter, scopePredicate } from './scope.js'
import { canSeeDestruction } from './view.js'
import { destructionEvent } from './workflow.js'

type Trx = Transaction<Database>

/** 409 unless approved and witnessed; 403 for the proposer, a reviewer or the witness (one person, one part). */
function checkExecutable (d: Destruction, reviews: readonly DestructionReview[], actor: Principal) {
  switch (d.status) {
    case 'pending_review': throw new DestructionStateError('the destruction is not approved: the producer\'s steward and the office review it first')
    case 'approved': throw new DestructionStateError('the destruction has no witness: a supervisor witnesses it before it is executed')
    case 'witnessed': break
    default: throw new DestructionStateError(`the destruction is ${d.status}`)
  }
  checkDuties(d, reviews, actor, 'executor')
}

/** The filter as it applies now; a field renamed or retyped since the approval stops the execution. */
function currentFilter (d: Destruction, dataset: Dataset): RowFilter | null {
  if (d.scope !== 'filter') return null
  try {
    return checkFilter(d.row_filter!, dataset)
  } catch (err) {
    if (err instanceof FieldError) throw new DestructionStateError(`the approved filter no longer fits dataset ${dataset.code} (${err.message}): propose the destruction again`)
    throw err
  }
}

/**
 * Execution of a witnessed destruction, in one transaction: the records in scope are deleted (their
 * keys digested on the way, never kept); a whole dataset is also marked destroyed, its open share
 * requests withdrawn (their agreements void), its grants revoked (as the grant repository revokes,
 * so every gateway stops serving them within a second), its finished exports expired (their files
 * deleted by the gateways' sweep) and its data key destroyed (crypto-shredding); then the certificate is written and the event
 * carries its digest. Nothing of it happens unless all of it does.
 */
export function createDestructionExecution (db: Kysely<Database>, encryption: Encryption, sharing: SharingControl) {
  const repo = createDestructionRepository(db)
  const datasets = createDatasetRepository(db)

  async function wholeDataset (trx: Trx, d: Destruction, dataset: Dataset, actor: Principal, requestId: string) {
    await datasets.update(dataset.code, { status: 'destroyed' }, trx)
    const reason = `dataset ${dataset.code} destroyed (destruction ${d.id})`
    const { withdrawn, revoked } = await sharing.endSharing(trx, { dataset: dataset.code, reason, actor, requestId, cause: { cause: 'destruction', destruction: d.id } })
    const exportsExpired = await repo.expireExportsOf(dataset.code, trx)
    const key: ShreddedKey | null = await shredDataKey(encryption, repo, dataset.code, actor.sub, trx)
    if (key) {
      await recordEvent(trx, {
        service: 'catalog',
        action: 'data_key.destroy',
        actor,
        objectType: 'data_key',
        objectId: dataset.code,
        dataset: dataset.code,
        requestId,
        details: { destruction: d.id, suite: key.suite, masterFingerprint: key.masterFingerprint }
      })
    }
    await recordEvent(trx, {
      service: 'catalog',
      action: 'dataset.destroy',
      actor,
      objectType: 'dataset',
      objectId: dataset.code,
      dataset: dataset.code,
      requestId,
      details: { destruction: d.id, before: { status: dataset.status }, after: { status: 'destroyed' }, grantsRevoked: revoked.length, requestsWithdrawn: withdrawn, exportsExpired, dataKeyDestroyed: key !== null }
    })
    return { revoked, key }
  }

  return async function execute (id: string, confirm: string, actor: Principal, requestId: string): Promise<Destruction> {
    const pending = await repo.find(id)
    if (!pending || !canSeeDestruction(actor, pending)) throw new DestructionNotFoundError(id)
    if (confirm !== pending.dataset_code) throw new FieldError('confirm', `must be the code of the dataset this destruction is for (${pending.dataset_code})`)
    // the blind indexes of a filter on encrypted fields, asked before the transaction
    const current = pending.scope === 'filter' ? await datasets.find(pending.dataset_code) : undefined
    const blind = current ? await blindFor(encryption, current, pending.row_filter) : null

    return await db.transaction().execute(async (trx) => {
      const d = await repo.find(id, trx, { lock: true })
      if (!d) throw new DestructionNotFoundError(id)
      const reviews = await repo.reviewsOf([id], trx)
      checkExecutable(d, reviews, actor)
      // the dataset's row lock: no batch is ingested or record deleted while the set is destroyed
      const dataset = (await datasets.findForUpdate(d.dataset_code, trx))!
      if (dataset.status === 'destroyed') throw new DatasetStateError(`dataset ${dataset.code} is already destroyed`)
      const filter = currentFilter(d, dataset)
      const keys = keyDigests()
      const rowsDeleted = await repo.deleteInScope(dataset.code, scopePredicate(d, filter, dataset, blind), (chunk) => keys.add(chunk), trx)
      const whole = d.scope === 'all' ? await wholeDataset(trx, d, dataset, actor, requestId) : { revoked: [], key: null }

      const executedAt = new Date()
      const after = await repo.update(id, { status: 'executed', executed_by: actor.sub, executed_unit: actor.unit, executed_at: executedAt }, trx)
      const certificate = buildCertificate({
        destruction: after,
        dataset,
        reviews,
        rowsDeleted,
        recordKeys: keys.digest(),
        executor: { sub: actor.sub, unit: actor.unit },
        executedAt,
        dataKey: whole.key,
        grantsRevoked: whole.revoked,
        statusAfter: d.scope === 'all' ? 'destroyed' : dataset.status
      })
      await repo.insertCertificate({
        id: certificate.id,
        destruction_id: id,
        dataset_code: dataset.code,
        content: certificate.content,
        digest_sha256: certificate.digest.sha256,
        digest_sm3: certificate.digest.sm3
      }, trx)
      await destructionEvent(trx, { actor, requestId }, 'destruction.execute', after, {
        certificate: certificate.id,
        digest: certificate.digest,
        scope: d.scope,
        rowsDeleted,
        method: certificate.content.method,
        grantsRevoked: whole.revoked.length,
        before: { status: d.status },
        after: { status: after.status }
      })
      return after
    })
  }
}
