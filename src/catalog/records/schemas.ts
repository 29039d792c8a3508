import { DatasetCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'

/** Records one ingest request may carry. */
export const MAX_BATCH_ROWS = 10_000

/**
 * Body limit of ingest (the platform's BODY_LIMIT_BYTES is for everything else): room for a full
 * batch of wide rows, about 3 KiB each.
 */
export const INGEST_BODY_LIMIT_BYTES = 32 * 1024 * 1024

const exampleRow = {
  student_id: '2026000001',
  name: 'Wang Fang',
  id_number: '11010519491231002X',
  college: 'CS',
  enrolled_on: '2026-09-01'
}

export const RecordRowSchema = Type.Object({}, {
  additionalProperties: true,
  description: 'one record: field name → value, as the dataset\'s fields declare them; checked row by row, not here'
})

export const IngestBodySchema = Type.Array(RecordRowSchema, {
  minItems: 1,
  maxItems: MAX_BATCH_ROWS,
  description: `The records of one batch (at most ${MAX_BATCH_ROWS}; more is a 413): a JSON array, or NDJSON ` +
    '(`application/x-ndjson`, one object per line; blank lines are skipped and `index` counts records, not lines).',
  examples: [[exampleRow, { ...exampleRow, student_id: '2026000002', name: 'Li Lei', id_number: '110105200001010016' }]]
})
export type IngestBody = Static<typeof IngestBodySchema>

const FieldProblemSchema = Type.Object({
  field: Type.String({ description: 'the field at fault; for a key problem of a composite key, the key fields joined by ","' }),
  message: Type.String({ description: 'the rule it breaks; never the value' })
})

export const RejectionSchema = Type.Object({
  index: Type.Integer({ minimum: 0, description: 'position of the record in the batch, from 0' }),
  errors: Type.Array(FieldProblemSchema, { minItems: 1, description: 'one entry per field at fault' })
})

export const IngestResultSchema = Type.Object({
  accepted: Type.Integer({ minimum: 0, description: 'records inserted or replaced' }),
  rejected: Type.Array(RejectionSchema, { description: 'records not stored, with the reasons; empty when all were accepted' }),
  batch: Type.String({ format: 'uuid', description: 'id of the ingest batch: the provenance every stored record keeps' })
}, {
  description: 'Valid records were upserted by primary key in one transaction; invalid ones were not stored.',
  examples: [{
    accepted: 1,
    rejected: [{ index: 1, errors: [{ field: 'id_number', message: 'is not a resident ID number: has a wrong check digit (GB 11643, ISO 7064 MOD 11-2)' }] }],
    batch: '0b7e4a52-5c1e-4a53-9f0e-3f3f6c2d9a10'
  }]
})
export type IngestResult = Static<typeof IngestResultSchema>

export const RecordsParamsSchema = Type.Object({ code: DatasetCodeSchema })

export const RecordParamsSchema = Type.Object({
  code: DatasetCodeSchema,
  key: Type.String({
    minLength: 1,
    maxLength: 256,
    description: 'the record\'s primary key; for a composite key its values in key order, each URL-encoded, joined by ","',
    examples: ['2026000001']
  })
})
