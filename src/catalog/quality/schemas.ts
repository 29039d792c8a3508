import { DatasetCodeSchema, UnitCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'
import { FrequencySchema } from '../datasets/schemas.js'

const Timestamp = Type.String({ format: 'date-time' })
const Share = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])
const Count = Type.Integer({ minimum: 0 })

export const QualityParamsSchema = Type.Object({ code: DatasetCodeSchema })

export const QualityQuerySchema = Type.Object({
  samplePercent: Type.Optional(Type.Number({
    // not merely above 0: TABLESAMPLE takes a real, and 1e-40 underflows it (a 500, found by fuzzing)
    minimum: 0.0001,
    maximum: 100,
    description: 'compute completeness over a TABLESAMPLE SYSTEM of this percentage of the records table (100: exactly). ' +
      'Default: exactly up to 1,000,000 rows, above that a sample aiming at 100,000 rows'
  }))
}, { additionalProperties: false })
export type QualityQuery = Static<typeof QualityQuerySchema>

const CountsSchema = Type.Object({
  batches: Count,
  received: Count,
  accepted: Count,
  rejected: Count,
  rejectionRate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: 'rejected / received; null when nothing was received' })
})
export type Counts = Static<typeof CountsSchema>

const FreshnessSchema = Type.Object({
  updateFrequency: FrequencySchema,
  maxAgeDays: Type.Union([Type.Integer(), Type.Null()], { description: 'days without new data after which it is stale; null for on_demand' }),
  lastIngestAt: Type.Union([Timestamp, Type.Null()], { description: 'the last ingest batch that accepted at least one record' }),
  ageDays: Type.Union([Type.Number(), Type.Null()], { description: 'days since lastIngestAt, to 0.01' }),
  stale: Type.Boolean({ description: 'older than maxAgeDays, or never ingested; never for on_demand (R2.10)' }),
  staleSince: Type.Union([Timestamp, Type.Null()], { description: 'when it went stale; null when fresh or never ingested' })
}, { description: 'freshness against the declared update frequency (R2.10)' })
export type Freshness = Static<typeof FreshnessSchema>

const ScaleFlagsSchema = Type.Object({
  protectionOfficerRequired: Type.Boolean({ description: 'at least thresholds.protectionOfficer persons: a named protection officer (R9.4)' }),
  registrationRequired: Type.Boolean({ description: 'at least thresholds.protectionOfficer persons: registration with the authority (R9.4)' }),
  protectionLevel3Required: Type.Boolean({ description: 'at least thresholds.protectionLevel3 persons: classified protection level 3 (R9.4)' }),
  yearlyAuditRequired: Type.Boolean({ description: 'at least thresholds.protectionLevel3 persons: a yearly personal-information audit (R9.4)' })
})

const PersonScaleSchema = Type.Object({
  personKey: Type.Union([Type.String(), Type.Null()]),
  count: Type.Union([Count, Type.Null()], { description: 'distinct persons (count of distinct person keys), exact; null without a personKey' }),
  rowsWithoutPersonKey: Type.Union([Count, Type.Null()]),
  flags: ScaleFlagsSchema,
  thresholds: Type.Object({
    protectionOfficer: Count,
    protectionLevel3: Count
  }, { description: 'persons at which the duties of R9.4 start (001 §50; 003 3(2))' })
}, { description: 'people the dataset holds personal information about, and the duties their number brings (R9.4)' })
export type PersonScale = Static<typeof PersonScaleSchema>

const retentionProperties = {
  retentionDays: Type.Integer({ minimum: 1 }),
  cutoff: Type.String({ format: 'date-time', description: 'records first stored before this are past retention' }),
  expiredRows: Type.Integer({ minimum: 0, description: 'records past the retention period, to archive or destroy (R5.2)' }),
  oldestCreatedAt: Type.Union([Timestamp, Type.Null()], { description: 'when the oldest record was first stored' }),
  oldestExpiresAt: Type.Union([Timestamp, Type.Null()], { description: 'when the oldest record passes (or passed) its retention' })
}
const RetentionStatusSchema = Type.Object(retentionProperties, { description: 'shortest-period storage (R5.2)' })
export type RetentionStatus = Static<typeof RetentionStatusSchema>

const AnomalySchema = Type.Object({
  kind: Type.Enum(['high_rejection_rate', 'stale', 'required_field_missing', 'person_key_missing', 'person_key_undeclared', 'retention_expired'], {
    description: 'high_rejection_rate: a batch of the window rejected more than 10 %; stale: see freshness; required_field_missing: stored records ' +
      'lack a required value (rules changed after ingest); person_key_missing: records without a person key; person_key_undeclared: ' +
      'personal information without a personKey; retention_expired: records past retention'
  }),
  at: Type.String({ format: 'date-time', description: 'when it happened, or when it was found' }),
  detail: Type.String()
})
export type Anomaly = Static<typeof AnomalySchema>

const generatedAt = Type.String({ format: 'date-time' })
const reportExample = {
  dataset: 'students',
  generatedAt: '2026-09-30T08:00:00.000Z',
  rows: 4,
  completeness: {
    method: 'exact',
    samplePercent: null,
    basisRows: 4,
    overall: 0.875,
    fields: [
      { field: 'student_id', required: true, filled: 4, ratio: 1 },
      { field: 'phone', required: false, filled: 3, ratio: 0.75 }
    ]
  },
  validity: {
    windowDays: 30,
    since: '2026-09-01T00:00:00.000Z',
    allTime: { batches: 3, received: 170, accepted: 148, rejected: 22, rejectionRate: 0.129 },
    window: { batches: 2, received: 150, accepted: 138, rejected: 12, rejectionRate: 0.08 },
    daily: [
      { day: '2026-09-27', batches: 1, received: 50, accepted: 50, rejected: 0, rejectionRate: 0 },
      { day: '2026-09-30', batches: 1, received: 100, accepted: 88, rejected: 12, rejectionRate: 0.12 }
    ],
    topRejectedFields: [{ field: 'phone', errors: 8 }, { field: 'email', errors: 4 }]
  },
  freshness: { updateFrequency: 'daily', maxAgeDays: 2, lastIngestAt: '2026-09-30T07:00:00.000Z', ageDays: 0.04, stale: false, staleSince: null },
  persons: {
    personKey: 'student_id',
    count: 4,
    rowsWithoutPersonKey: 0,
    flags: { protectionOfficerRequired: false, registrationRequired: false, protectionLevel3Required: false, yearlyAuditRequired: false },
    thresholds: { protectionOfficer: 200000, protectionLevel3: 1000000 }
  },
  retention: { retentionDays: 3650, cutoff: '2016-10-02T08:00:00.000Z', expiredRows: 0, oldestCreatedAt: '2026-09-27T09:00:00.000Z', oldestExpiresAt: '2036-09-24T09:00:00.000Z' },
  anomalies: [{
    kind: 'high_rejection_rate',
    at: '2026-09-30T07:00:00.000Z',
    detail: 'batch 0a4f… rejected 12 of 100 records (12.0 %, limit 10.0 %)'
  }]
}

export const QualityReportSchema = Type.Object({
  dataset: DatasetCodeSchema,
  generatedAt,
  rows: Type.Integer({ minimum: 0, description: 'records stored, exact' }),
  completeness: Type.Object({
    method: Type.Enum(['exact', 'sample']),
    samplePercent: Type.Union([Type.Number(), Type.Null()], { description: 'the TABLESAMPLE percentage when sampled' }),
    basisRows: Type.Integer({ minimum: 0, description: 'records the ratios are computed over' }),
    overall: Share,
    fields: Type.Array(Type.Object({
      field: Type.String(),
      required: Type.Boolean(),
      filled: Type.Integer({ minimum: 0, description: 'records with a value that is neither null nor an empty string' }),
      ratio: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: 'filled / basisRows; null without records' })
    }))
  }, { description: 'share of records with a non-null, non-empty value, per field (R3.3)' }),
  validity: Type.Object({
    windowDays: Type.Integer(),
    since: Type.String({ format: 'date-time', description: 'start of the window: UTC midnight, windowDays − 1 days ago' }),
    allTime: CountsSchema,
    window: CountsSchema,
    daily: Type.Array(Type.Object({ day: Type.String({ format: 'date' }), ...CountsSchema.properties }), {
      description: 'per UTC day of the window with at least one batch, oldest first'
    }),
    topRejectedFields: Type.Array(Type.Object({ field: Type.String(), errors: Count }), {
      description: 'fields named most often by rejections in the window, at most 10'
    })
  }, { description: 'accepted and rejected records of the ingest batches (R3.3)' }),
  freshness: FreshnessSchema,
  persons: PersonScaleSchema,
  retention: RetentionStatusSchema,
  anomalies: Type.Array(AnomalySchema, { description: 'problems to act on, newest first (R3.3 anomaly alerts)' })
}, { description: 'data quality of one dataset', examples: [reportExample] })
export type QualityReport = Static<typeof QualityReportSchema>

export const RetentionReportSchema = Type.Object({
  dataset: DatasetCodeSchema,
  generatedAt,
  rows: Type.Integer({ minimum: 0, description: 'records stored' }),
  ...retentionProperties
}, {
  description: 'records of one dataset past its retention period (R5.2)',
  examples: [{ dataset: 'students', generatedAt: '2026-09-30T08:00:00.000Z', rows: 1200, ...reportExample.retention, expiredRows: 0 }]
})
export type RetentionReport = Static<typeof RetentionReportSchema>

export const ExpiredQuerySchema = Type.Object({ ...PaginationQuerySchema }, { additionalProperties: false })

const ExpiredDatasetSchema = Type.Object({
  dataset: DatasetCodeSchema,
  producerUnit: UnitCodeSchema,
  ...retentionProperties
})
export type ExpiredDataset = Static<typeof ExpiredDatasetSchema>

export const ExpiredPageSchema = Type.Object(pageOf(ExpiredDatasetSchema, '').properties, {
  description: 'datasets holding records past their retention period, ordered by code',
  examples: [{
    data: [{
      dataset: 'library_loans',
      producerUnit: 'LIB',
      retentionDays: 1095,
      cutoff: '2023-10-01T08:00:00.000Z',
      expiredRows: 5210,
      oldestCreatedAt: '2021-03-02T10:00:00.000Z',
      oldestExpiresAt: '2024-03-01T10:00:00.000Z'
    }],
    nextCursor: null
  }]
})
