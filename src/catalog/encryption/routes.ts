import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { isProducer } from '../datasets/access.js'
import { isOffice } from '../../platform/auth/roles.js'
import { createDatasetRepository } from '../datasets/repository.js'
import { DatasetParamsSchema } from '../datasets/schemas.js'
import { DatasetNotFoundError } from '../errors.js'
import { encryptedFields, encryptionReason } from './codec.js'
import { createEncryptionMarking } from './marking.js'
import { countClear, sealExisting } from './sweep.js'

const tags = ['datasets']

const EncryptionStateSchema = Type.Object({
  dataset: Type.String(),
  fields: Type.Array(Type.Object({
    name: Type.String(),
    reason: Type.Enum(['sensitive_pi', 'pi', 'marked'], { description: 'a sensitive PI type or another PI type (always encrypted), or marked by the office' })
  }), { description: 'the fields stored encrypted' }),
  key: Type.Union([Type.Object({
    suite: Type.String(),
    masterFingerprint: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    ageDays: Type.Integer(),
    destroyedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
  }), Type.Null()], { description: 'the dataset\'s data key; null before the first encrypted value' }),
  clearRecords: Type.Integer({ description: 'records still holding a value of an encrypted field in the clear (being encrypted)' })
}, {
  description: 'Encryption at rest of a dataset (R9.1, R11.3)',
  examples: [{
    dataset: 'student_health',
    fields: [{ name: 'diagnosis', reason: 'sensitive_pi' }, { name: 'mobile', reason: 'pi' }, { name: 'dorm_room', reason: 'marked' }],
    key: { suite: 'aes-256-gcm', masterFingerprint: '3f9a0c1d2e4b5a69', createdAt: '2026-11-24T08:00:00.000Z', ageDays: 0, destroyedAt: null },
    clearRecords: 0
  }]
})

const MarkBodySchema = Type.Object({
  fields: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 200, uniqueItems: true, description: 'fields to encrypt from now on (added to those marked before)' }),
  reason: Type.String({ minLength: 1, maxLength: 500 })
}, { additionalProperties: false, examples: [{ fields: ['dorm_room'], reason: 'important data: dormitory allocation (R4.1)' }] })

/**
 * Encryption at rest of a dataset: which fields are stored encrypted, and the office's marks on
 * important datasets. Marking is add-only: what was encrypted stays encrypted.
 */
export const encryptionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const datasets = createDatasetRepository(app.db)
  const marking = createEncryptionMarking(app.db)
  const running = new Map<string, Promise<void>>()
  const closing = new AbortController()

  async function visible (code: string, principal: Principal): Promise<Dataset> {
    const row = await datasets.find(code)
    if (!row || !(isOffice(principal) || principal.roles.includes('auditor') || isProducer(principal, row))) throw new DatasetNotFoundError(code)
    return row
  }

  async function state (row: Dataset) {
    const key = await marking.dataKeyOf(row.code)
    return {
      dataset: row.code,
      fields: encryptedFields(row).map((name) => ({ name, reason: encryptionReason(row.fields.find((f) => f.name === name)!) })),
      key: key
        ? {
            suite: key.suite,
            masterFingerprint: key.master_fingerprint,
            createdAt: key.created_at.toISOString(),
            ageDays: Math.floor((Date.now() - key.created_at.getTime()) / 86_400_000),
            destroyedAt: key.destroyed_at?.toISOString() ?? null
          }
        : null,
      clearRecords: await countClear(app.db, row)
    }
  }

  /**
   * Encrypts what is still clear, in the background; one sweep per dataset at a time, paced on
   * PGlite as the background sweep is (timer.ts). When the app closes it stops after its current
   * batch (the background sweep continues it later).
   */
  function sweep (row: Dataset) {
    if (running.has(row.code) || closing.signal.aborted) return
    const job = sealExisting(app.db, app.encryption, row, { signal: closing.signal, rest: app.database.kind === 'pglite' ? 1 : 0 })
      .then(() => {}, (err: unknown) => { app.log.error({ err, dataset: row.code }, 'encryption: sealing existing records failed') })
      .finally(() => running.delete(row.code))
    running.set(row.code, job)
  }
  app.addHook('preClose', async () => {
    closing.abort()
    await Promise.all(running.values())
  })

  app.get('/datasets/:code/encryption', {
    config: { access: { roles: ['security_admin', 'auditor', 'steward'] } },
    schema: {
      tags,
      summary: 'Encryption at rest of a dataset',
      description: 'Which fields are stored encrypted and why, the data key\'s age and master key, and how many records still hold a clear value ' +
        '(while existing records are being encrypted). The office, auditors and the producer\'s stewards.',
      operationId: 'getDatasetEncryption',
      params: DatasetParamsSchema,
      response: { 200: EncryptionStateSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => await state(await visible(request.params.code, request.principal!)))

  app.put('/datasets/:code/encryption', {
    config: { access: { roles: ['security_admin'] } },
    schema: {
      tags,
      summary: 'Mark fields of an important dataset for encryption',
      description: 'The office marks fields of an `important` dataset to be stored encrypted (fields with a PI type always are). Marks are ' +
        'added to the earlier ones, never removed; key fields (primary and person key) cannot be marked. Records already stored are encrypted ' +
        'in the background, a thousand at a time (`clearRecords` counts down).',
      operationId: 'markDatasetEncryption',
      params: DatasetParamsSchema,
      body: MarkBodySchema,
      response: { 200: EncryptionStateSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const principal = request.principal!
    const { fields, reason } = request.body
    const row = await marking.mark(request.params.code, fields, reason, principal, request.id)
    sweep(row)
    return await state(row)
  })
}
