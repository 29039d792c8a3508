import { DatasetCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'
import { FieldNameSchema } from '../datasets/schemas.js'
import { CORRECTION_STATUSES } from './table.js'

const IdSchema = Type.String({ format: 'uuid', description: 'id of the correction' })
const timestamp = Type.String({ format: 'date-time' })
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
const StatusSchema = Type.Enum([...CORRECTION_STATUSES], {
  description: 'open: waiting for the producer\'s decision; accepted: to be made by an ingest batch that names the correction; ' +
    'rejected: the producer found the record right (its reason says why); corrected: made by `resolvedByBatch`'
})
const ValueSchema = Type.Union([Type.String({ maxLength: 10_000 }), Type.Number(), Type.Boolean()], {
  description: 'the value the reporter believes right, of the field\'s type and rules; treated as a record value: never logged, sealed at rest ' +
    'where the field is encrypted, masked for viewers other than the reporting unit and the producer unit'
})

export const CorrectionsParamsSchema = Type.Object({ code: DatasetCodeSchema })
export const CorrectionParamsSchema = Type.Object({ code: DatasetCodeSchema, id: IdSchema })

export const ReportCorrectionSchema = Type.Object({
  recordKey: Type.String({
    minLength: 1,
    maxLength: 256,
    description: 'the record\'s primary-key value; for a composite key its values in key order, each URL-encoded, joined by "," ' +
      '(as DELETE /records/{key} addresses it)'
  }),
  field: { ...FieldNameSchema, description: 'the field in error: a field of the dataset' },
  description: Type.String({ minLength: 1, maxLength: 2000, description: 'what is wrong, and how the reporter knows' }),
  proposedValue: Type.Optional(ValueSchema)
}, {
  additionalProperties: false,
  examples: [{ recordKey: '2026000001', field: 'phone', description: 'the student changed her number on 2026-09-03 (counter form XG-17)', proposedValue: '13912345678' }]
})
export type ReportCorrection = Static<typeof ReportCorrectionSchema>

export const DecisionSchema = Type.Object({
  decision: Type.Enum(['accept', 'reject'], { description: 'accept: the record is wrong and will be corrected through ingest; reject: it is right' }),
  reason: Type.String({ minLength: 1, maxLength: 2000, description: 'why; shown to the reporter and recorded in the audit log' })
}, { additionalProperties: false, examples: [{ decision: 'accept', reason: 'confirmed with the student affairs office' }] })
export type Decision = Static<typeof DecisionSchema>

export const ListCorrectionsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  status: Type.Optional(StatusSchema),
  overdue: Type.Optional(Type.Boolean({ description: 'true: only corrections past their deadline and still open or accepted; false: the others' }))
}, { additionalProperties: false })

export const CorrectionSchema = Type.Object({
  id: IdSchema,
  dataset: Type.String(),
  recordKey: Type.String({ description: 'as reported (the DELETE /records/{key} form)' }),
  field: Type.String(),
  description: Type.String(),
  proposedValue: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()], {
    description: 'absent when none was proposed, or when the viewer\'s masking withholds it (`proposedValueMasked`)'
  })),
  proposedValueMasked: Type.Boolean({ description: 'the proposed value is shown masked, or withheld, under the dataset\'s display masking' }),
  status: StatusSchema,
  reporterUnit: Type.String(),
  reportedBy: Type.String({ description: 'subject of the reporter' }),
  onBehalf: Type.Boolean({ description: 'reported by the data-management office on a person\'s behalf' }),
  reportedAt: timestamp,
  dueAt: Type.String({ format: 'date-time', description: 'deadline: CORRECTION_DEADLINE_DAYS working days on the campus calendar after the report' }),
  overdue: Type.Boolean({ description: 'past its deadline and still open or accepted' }),
  decision: nullable(Type.Object({
    decision: Type.Enum(['accept', 'reject']),
    reason: Type.String(),
    by: Type.String(),
    at: timestamp
  })),
  resolvedByBatch: nullable(Type.String({ format: 'uuid', description: 'the ingest batch that made the correction' })),
  resolvedAt: nullable(timestamp)
}, {
  examples: [{
    id: '6f1d2c1e-0d4b-4c55-9a43-1b1f0f5b7e21',
    dataset: 'students',
    recordKey: '2026000001',
    field: 'phone',
    description: 'the student changed her number on 2026-09-03 (counter form XG-17)',
    proposedValue: '139****5678',
    proposedValueMasked: true,
    status: 'corrected',
    reporterUnit: 'MATH',
    reportedBy: 'math-alice',
    onBehalf: false,
    reportedAt: '2026-09-04T02:00:00.000Z',
    dueAt: '2026-09-11T02:00:00.000Z',
    overdue: false,
    decision: { decision: 'accept', reason: 'confirmed with the student affairs office', by: 'cs-steward', at: '2026-09-07T03:00:00.000Z' },
    resolvedByBatch: '0b7e4a52-5c1e-4a53-9f0e-3f3f6c2d9a10',
    resolvedAt: '2026-09-07T05:00:00.000Z'
  }]
})
export type CorrectionView = Static<typeof CorrectionSchema>

export const CorrectionPageSchema = pageOf(CorrectionSchema, 'Corrections, newest first')

/** The query of record ingest: the accepted correction a batch makes. */
export const IngestQuerySchema = Type.Object({
  correction: Type.Optional(Type.String({
    format: 'uuid',
    description: 'an accepted correction of this dataset that this batch makes: the batch must write its record; the correction is then ' +
      '`corrected`, with this batch as `resolvedByBatch`, in the same transaction (404 unknown, 409 not accepted or record not written: nothing stored)'
  }))
}, { additionalProperties: false })
