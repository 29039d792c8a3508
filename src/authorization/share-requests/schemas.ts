import { DatasetCodeSchema, UnitCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'
import { FieldNameSchema } from '../../catalog/index.js'

import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'
import { PURPOSE_CODE_PATTERN } from '../purposes/schemas.js'

export const IdSchema = Type.String({ format: 'uuid', examples: ['5f0c6b1e-2d4a-4c3b-9e8f-1a2b3c4d5e6f'] })
export const IdParamsSchema = Type.Object({ id: IdSchema })
export const DaySchema = Type.String({ format: 'date', description: 'a calendar day, YYYY-MM-DD' })
const timestamp = Type.String({ format: 'date-time' })
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

export const ACCESS_MODES = ['api', 'export'] as const
export const AccessModesSchema = Type.Array(Type.Enum([...ACCESS_MODES]), {
  minItems: 1, maxItems: 2, uniqueItems: true, description: 'how the data is taken: `api` (online reads, preferred, R7.7) and/or `export` (files)'
})

const ScalarSchema = Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean()])
export const RowFilterSchema = Type.Record(Type.String({ maxLength: 63 }), Type.Union([
  ScalarSchema,
  Type.Object({}, { additionalProperties: true, maxProperties: 1, description: 'one operator: in, ne, gt, gte, lt, lte' })
]), {
  maxProperties: 20,
  description: 'rows the consumer may read, as structured JSON (never SQL): `{"college": "CS"}` is equality, ' +
    '`{"year": {"in": [2023, 2024]}}` a list; operators in, ne, gt, gte, lt, lte; conditions are ANDed; `{}` is every row',
  examples: [{ college: 'CS', year: { in: [2023, 2024] } }]
})

export const RECIPIENT_KINDS = ['government', 'enterprise', 'university', 'research_institute', 'individual', 'other'] as const
const RecipientSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200, description: 'who receives the data outside the university' }),
  kind: Type.Enum([...RECIPIENT_KINDS], {
    description: 'government (a government body or regulator), enterprise, university (another school), research_institute, individual, other'
  })
}, { additionalProperties: false, description: 'the recipient outside the university (对外提供)' })

const FieldsSchema = Type.Array(FieldNameSchema, {
  minItems: 1, maxItems: 200, uniqueItems: true, description: 'the data elements needed, and no more (minimum necessary, R7.5)'
})
const purpose = Type.String({ minLength: 1, maxLength: 2000, description: 'what the data is for; it may serve nothing else (R6.3)' })
const legalBasis = Type.String({ minLength: 1, maxLength: 500, description: 'the legal basis or duty the use rests on (e.g. 履行法定职责, consent)' })

export const CreateShareRequestSchema = Type.Object({
  dataset: DatasetCodeSchema,
  fields: FieldsSchema,
  rowFilter: Type.Optional(RowFilterSchema),
  purpose,
  legalBasis,
  accessModes: AccessModesSchema,
  validFrom: DaySchema,
  validUntil: DaySchema,
  dailyRowQuota: Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'expected daily volume: the grant\'s daily row quota' }),
  thirdParty: Type.Boolean({ description: 'a third party will analyse the data (it then only ever gets masked data, R7.6)' }),
  thirdPartyName: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'who the third party is; required when thirdParty' })),
  external: Type.Optional(Type.Boolean({
    default: false,
    description: 'the data is provided outside the university (对外提供, 001 §42, §58): reviewed by the producer\'s steward, then the office, then the leading group; ' +
      'needs `recipient`; never children\'s personal information'
  })),
  recipient: Type.Optional(RecipientSchema),
  renews: Type.Optional(Type.String({
    format: 'uuid',
    description: 'a live grant of your unit on the same dataset that this request continues: when the new grant starts, the renewed one ends the day before (no gap, no overlap)'
  })),
  subject: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'grant to this one person or account (token `sub`) of the consumer unit instead of the whole unit' })),
  consentBased: Type.Optional(Type.Boolean({
    default: false,
    description: 'the use rests on the persons\' consent (个人同意): the grant then serves only the rows of persons holding a valid consent for the dataset ' +
      'and `purposeCode`. A dataset holding sensitive or children\'s personal information is always served so, whatever this says (R9.2, R9.3)'
  })),
  purposeCode: Type.Optional(Type.String({
    pattern: PURPOSE_CODE_PATTERN,
    description: 'the purpose from the office\'s list (`GET /api/v1/purposes`) that the persons\' consents must be for; required with `consentBased` and ' +
      'for a dataset holding sensitive or children\'s personal information'
  }))
}, {
  additionalProperties: false,
  examples: [{
    dataset: 'student_basic',
    fields: ['student_id', 'name', 'college'],
    rowFilter: { college: 'CS' },
    purpose: 'scholarship assessment 2026',
    legalBasis: 'performance of statutory duties (履行法定职责)',
    accessModes: ['api'],
    validFrom: '2026-12-01',
    validUntil: '2027-06-30',
    dailyRowQuota: 5000,
    thirdParty: false
  }]
})
export type CreateShareRequest = Static<typeof CreateShareRequestSchema>

export const ReviewSchema = Type.Object({
  decision: Type.Enum(['approve', 'reject'], { description: 'approve, or reject with a reason (R7.1: a refusal states its reason)' }),
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'required to reject' })),
  party: Type.Optional(Type.Enum(['producer', 'office', 'leadership'], {
    description: 'which reviewer the caller acts as; inferred from the roles when absent. `leadership`: the leading group\'s final review of data provided outside the university'
  })),
  collectiveDecision: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'office approval of sensitive personal information: reference of the leadership\'s collective decision (集体决策, R9.2)' })),
  externalApproval: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'office approval for 200,000 or more persons: reference of the authority\'s approval (R9.4)' })),
  unmasked: Type.Optional(Type.Boolean({ description: 'office only: approve unmasked access; needs unmaskedReason; never for third parties' })),
  unmaskedReason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 }))
}, {
  additionalProperties: false,
  examples: [{ decision: 'approve', reason: 'within the scholarship duty' }, { decision: 'reject', reason: 'the purpose does not need ID numbers' }]
})
export type Review = Static<typeof ReviewSchema>

export const CommitmentBodySchema = Type.Object({
  accept: Type.Literal(true, { description: 'the consumer accepts the usage commitment (使用承诺书, R7.4)' })
}, { additionalProperties: false, examples: [{ accept: true }] })

export const WithdrawalBodySchema = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 2000 })
}, { additionalProperties: false, examples: [{ reason: 'no longer needed' }] })

const ReviewViewSchema = Type.Object({
  party: Type.Enum(['rule', 'producer', 'office', 'leadership'], { description: '`rule`: decided by the share attribute itself; `leadership`: the leading group' }),
  decision: Type.Enum(['approve', 'reject']),
  reason: nullable(Type.String()),
  reviewer: Type.String(),
  reviewerUnit: Type.String(),
  collectiveDecision: Type.Optional(Type.String()),
  externalApproval: Type.Optional(Type.String()),
  reviewedAt: timestamp
})

const CommitmentViewSchema = Type.Object({
  text: Type.String({ description: 'the commitment as signed' }),
  digest: Type.Object({ sha256: Type.String(), sm3: Type.String() }, { description: 'hex digests of the text' }),
  signer: Type.String(),
  signerUnit: Type.String(),
  signedAt: timestamp
})

export const SHARE_REQUEST_STATUSES = ['pending_review', 'approved', 'active', 'rejected', 'withdrawn'] as const

export const ShareRequestSchema = Type.Object({
  id: IdSchema,
  dataset: DatasetCodeSchema,
  producerUnit: UnitCodeSchema,
  consumerUnit: UnitCodeSchema,
  subject: nullable(Type.String()),
  requestedBy: Type.String(),
  fields: Type.Array(Type.String()),
  rowFilter: Type.Record(Type.String(), Type.Unknown()),
  purpose: Type.String(),
  legalBasis: Type.String(),
  accessModes: Type.Array(Type.String()),
  validFrom: DaySchema,
  validUntil: DaySchema,
  dailyRowQuota: Type.Integer(),
  thirdParty: Type.Boolean(),
  thirdPartyName: nullable(Type.String()),
  external: Type.Boolean({ description: 'the data is provided outside the university (对外提供)' }),
  recipient: nullable(RecipientSchema),
  renews: nullable(IdSchema),
  consentBased: Type.Boolean({ description: 'the request said its use rests on the persons\' consent' }),
  purposeCode: nullable(Type.String({ description: 'the purpose the persons\' consents must be for' })),
  status: Type.Enum([...SHARE_REQUEST_STATUSES], {
    description: 'pending_review; approved (waiting for the commitment or agreement); active (its grant exists); rejected; withdrawn'
  }),
  decisionReason: nullable(Type.String({ description: 'why it was rejected or withdrawn' })),
  workflow: Type.Enum(['none', 'rule', 'office', 'producer_office', 'producer_office_leadership'], {
    description: 'who reviews: none (not shareable, 不予共享), rule (unconditional, 无条件共享), office (basic personnel data, R7.3; or unconditional data ' +
      'for a third party, an export or 200,000 persons or more), producer_office (conditional, 有条件共享), producer_office_leadership ' +
      '(provided outside the university: the producer, then the office, then the leading group)'
  }),
  awaiting: Type.Array(Type.Enum(['producer', 'office', 'leadership', 'commitment', 'agreement']), { description: 'what is still missing before the grant exists' }),
  reviewDueAt: nullable(timestamp),
  overdue: Type.Boolean({ description: 'a review is still missing after its deadline (R7.8)' }),
  masked: Type.Boolean({ description: 'the grant will give masked data' }),
  unmaskedReason: nullable(Type.String()),
  personCount: nullable(Type.Integer({ description: 'persons whose information the filter covers, when the dataset holds personal information' })),
  reviews: Type.Array(ReviewViewSchema),
  commitment: nullable(CommitmentViewSchema),
  agreement: nullable(IdSchema),
  grant: nullable(IdSchema),
  createdAt: timestamp,
  updatedAt: timestamp
}, { description: 'A share request (共享申请) and where it stands' })
export type ShareRequestView = Static<typeof ShareRequestSchema>

export const ListShareRequestsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  status: Type.Optional(Type.Enum([...SHARE_REQUEST_STATUSES])),
  dataset: Type.Optional(DatasetCodeSchema),
  role: Type.Optional(Type.Enum(['consumer', 'producer'], { description: 'only the requests the caller\'s unit made (consumer) or must review (producer)' })),
  overdue: Type.Optional(Type.Boolean({ description: 'only pending requests past their review deadline' })),
  external: Type.Optional(Type.Boolean({ description: 'only requests that provide data outside the university (or only those that do not)' }))
}, { additionalProperties: false })

export const ShareRequestPageSchema = pageOf(ShareRequestSchema, 'share requests, newest first')
