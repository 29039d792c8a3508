import { DatasetCodeSchema, UnitCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'
import { FieldNameSchema } from '../../catalog/index.js'

import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'
import { DaySchema, IdSchema, RowFilterSchema } from '../share-requests/schemas.js'

const timestamp = Type.String({ format: 'date-time' })
export const GRANT_STATUSES = ['active', 'suspended', 'revoked', 'expired'] as const

const example = {
  id: '7d1f0e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6',
  shareRequest: '5f0c6b1e-2d4a-4c3b-9e8f-1a2b3c4d5e6f',
  consumerUnit: 'MATH',
  subject: null,
  dataset: 'student_basic',
  producerUnit: 'CS',
  fields: ['student_id', 'name', 'college'],
  rowFilter: { college: 'CS' },
  purpose: 'scholarship assessment 2026',
  accessModes: ['api'],
  validFrom: '2026-12-01',
  validUntil: '2027-06-30',
  dailyRowQuota: 5000,
  masked: true,
  thirdParty: false,
  childrenData: false,
  consentBased: false,
  purposeCode: null,
  status: 'active',
  statusReason: null,
  statusChangedBy: null,
  statusChangedAt: null,
  recertification: { dueAt: '2027-11-24T08:00:00.000Z', graceEndsAt: '2027-12-24T08:00:00.000Z', due: false, last: null },
  createdAt: '2026-11-24T08:00:00.000Z'
}

const RecertificationViewSchema = Type.Object({
  dueAt: timestamp,
  graceEndsAt: Type.String({ format: 'date-time', description: 'unconfirmed by then, the grant is suspended until a steward keeps it' }),
  due: Type.Boolean({ description: 'a live grant past dueAt, not yet re-certified' }),
  last: Type.Union([Type.Object({
    decision: Type.Enum(['keep', 'revoke']),
    reason: Type.String(),
    by: Type.String(),
    at: timestamp
  }), Type.Null()], { description: 'the last re-certification decision; null before the first' })
}, { description: 'periodic re-confirmation by a steward of the producer unit (004 §25), every GRANT_RECERTIFY_DAYS from creation or the last decision' })

export const GrantSchema = Type.Object({
  id: IdSchema,
  shareRequest: IdSchema,
  consumerUnit: UnitCodeSchema,
  subject: Type.Union([Type.String(), Type.Null()], { description: 'the one person or account the grant is for; null: the whole consumer unit' }),
  dataset: DatasetCodeSchema,
  producerUnit: UnitCodeSchema,
  fields: Type.Array(Type.String()),
  rowFilter: Type.Record(Type.String(), Type.Unknown()),
  purpose: Type.String({ description: 'the data serves this purpose only (R6.3)' }),
  accessModes: Type.Array(Type.String()),
  validFrom: DaySchema,
  validUntil: DaySchema,
  dailyRowQuota: Type.Integer(),
  masked: Type.Boolean({ description: 'data is masked by the dataset\'s policy; false only where the office approved unmasked access for a named reason' }),
  thirdParty: Type.Boolean(),
  childrenData: Type.Boolean({ description: 'the dataset holds children\'s personal information: every access is flagged in the audit log (R9.3)' }),
  consentBased: Type.Boolean({
    description: 'the grant rests on the persons\' consent (its request said so, or the dataset holds sensitive or children\'s personal information): ' +
      'it serves only the rows of persons holding a valid consent (given, not expired, not withdrawn) for the dataset and `purposeCode`'
  }),
  purposeCode: Type.Union([Type.String(), Type.Null()], { description: 'the purpose the persons\' consents must be for' }),
  status: Type.Enum([...GRANT_STATUSES], { description: 'active, suspended (re-certification lapsed, or by a consent withdrawn before consents were held row by row), revoked, expired (past validUntil)' }),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  statusChangedBy: Type.Union([Type.String(), Type.Null()]),
  statusChangedAt: Type.Union([timestamp, Type.Null()]),
  recertification: RecertificationViewSchema,
  createdAt: timestamp
}, { description: 'A grant (授权): what one consumer may read of one dataset, how, for what and until when', examples: [example] })

export const ListGrantsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  dataset: Type.Optional(DatasetCodeSchema),
  status: Type.Optional(Type.Enum([...GRANT_STATUSES])),
  consumerUnit: Type.Optional(UnitCodeSchema),
  subject: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  recertificationDue: Type.Optional(Type.Boolean({ description: 'true: live grants due for re-certification (past their due date); false: the others' }))
}, { additionalProperties: false })

export const GrantPageSchema = pageOf(GrantSchema, 'grants, newest first')

export const RevokeBodySchema = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 2000, description: 'why the grant ends now' })
}, { additionalProperties: false, examples: [{ reason: 'the scholarship assessment is over' }] })

const reason = Type.String({ minLength: 1, maxLength: 2000, description: 'why; recorded in the audit log' })

export const NarrowGrantSchema = Type.Object({
  reason,
  fields: Type.Optional(Type.Array(FieldNameSchema, {
    minItems: 1, maxItems: 200, uniqueItems: true, description: 'the fields left: a subset of the grant\'s'
  })),
  rowFilter: Type.Optional(RowFilterSchema),
  dailyRowQuota: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'lower than the grant\'s' })),
  validUntil: Type.Optional(DaySchema)
}, {
  additionalProperties: false,
  description: 'Narrowing only: fewer fields, the row filter with every current condition kept and more added (an `in` list may be cut), ' +
    'a lower daily row quota, an earlier end (not before today). Anything wider is a 400: file a new share request.',
  examples: [{ reason: 'the assessment no longer needs phone numbers', fields: ['student_id', 'college'], rowFilter: { college: 'CS', year: 2026 } }]
})
export type NarrowGrant = Static<typeof NarrowGrantSchema>

export const RecertificationBodySchema = Type.Object({
  decision: Type.Enum(['keep', 'revoke'], { description: 'keep: the grant is still needed (a new period starts; a grant the sweep suspended is active again); revoke: it ends now' }),
  reason
}, { additionalProperties: false, examples: [{ decision: 'keep', reason: 'the scholarship assessment runs again this year' }] })
export type RecertificationBody = Static<typeof RecertificationBodySchema>
