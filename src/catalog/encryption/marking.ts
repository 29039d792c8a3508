import type { Kysely } from 'kysely'
import type { Database, Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { createDatasetRepository } from '../datasets/repository.js'
import { DatasetNotFoundError } from '../errors.js'

/** The office's marks of fields to be stored encrypted, and a dataset's data key as the state shows it. */
export function createEncryptionMarking (db: Kysely<Database>) {
  const datasets = createDatasetRepository(db)
  return {
    async dataKeyOf (code: string) {
      return await db.selectFrom('data_keys').selectAll().where('dataset_code', '=', code).executeTakeFirst()
    },

    /**
     * Fields of an important dataset marked, added to the earlier marks (never removed); key fields
     * stay in the clear. In one transaction with its event; the dataset as it is after.
     */
    async mark (code: string, fields: string[], reason: string, actor: Principal, requestId: string): Promise<Dataset> {
      return await db.transaction().execute(async (trx) => {
        const row = await datasets.findForUpdate(code, trx)
        if (!row) throw new DatasetNotFoundError(code)
        if (row.grade !== 'important') throw new FieldError('fields', `only fields of important datasets are marked (${row.code} is ${row.grade}); fields with a PI type are encrypted whatever the grade`)
        const keys = new Set([...row.primary_key, ...(row.person_key ? [row.person_key] : [])])
        fields.forEach((name, i) => {
          const field = row.fields.find((f) => f.name === name)
          if (!field) throw new FieldError(`fields.${i}`, 'the dataset has no such field')
          if (keys.has(name)) throw new FieldError(`fields.${i}`, 'a key field stays in the clear: records are found by it')
        })
        const next = [...new Set([...row.encrypted_fields, ...fields])]
        const added = next.filter((f) => !row.encrypted_fields.includes(f) && (row.fields.find((x) => x.name === f)?.piType ?? null) === null)
        await datasets.setEncryptedFields(row.code, next, trx)
        await recordEvent(trx, {
          service: 'catalog',
          action: 'dataset.encryption.mark',
          actor,
          objectType: 'dataset',
          objectId: row.code,
          dataset: row.code,
          requestId,
          details: { added, fields: next, reason }
        })
        return { ...row, encrypted_fields: next }
      })
    }
  }
}
