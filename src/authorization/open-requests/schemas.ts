import { DatasetCodeSchema, UnitCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'
import { FieldNameSchema } from '../../catalog/index.js'

import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'

const IdSchema = Type.String({ format: 'uuid', description: 'id of the open request', examples: ['7c1e2a3b-4d5f-4a6b-8c9d-0e1f2a3b4c5d'] })
const DaySchema = Type.String({ format: 'date', description: 'a calendar day, YYYY-MM-DD' })
const timestamp = Type.String({ format: 'date-time' })
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

// what outsiders type: bounded, and free of control characters (a line; or text, which may break lines)
const line = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\x00-\\x1F\\x7F]+$', description })
const text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F]+$', description })

export const STATUSES = ['pending_review', 'approved', 'rejected'] as const
const StatusSchema = Type.Enum([...STATUSES], { description: 'pending_review until the office decides: approved or rejected' })

const ApplicantSchema = Type.Object({
  name: line(100, 'the applicant: a person, or the contact person of an organisation'),
  organisation: line(200, 'the organisation applied for (公民、法人或其他组织); `individual` for a private person'),
  contact: line(200, 'phone or e-mail at which the office can reach the applicant; shown to the office, never logged'),
  qualification: text(2000, 'why the applicant meets the dataset\'s conditions (资质): accreditation, project, licence…')
}, { additionalProperties: false, description: 'who applies (R8.2: conditions of party)' })

const fields = Type.Array(FieldNameSchema, {
  minItems: 1, maxItems: 200, uniqueItems: true, description: 'the fields needed (conditions of scope); default: every field of the dataset'
})
const purpose = text(2000, 'what the data is for (conditions of purpose); it may serve nothing else')
const scope = text(2000, 'the scope of use: who will use the data, where, for how long, published or not (使用范围)')

const requestExample = {
  dataset: 'course_catalog',
  applicant: { name: 'Zhao Lei', organisation: 'Tianjin Education Research Institute', contact: 'zhaolei@example.org', qualification: 'provincial research project 2026-17' },
  purpose: 'comparative study of course offerings',
  fields: ['course_code', 'title', 'credits'],
  scope: 'the project team of four; aggregate results only are published; deleted at the end of 2027'
}

export const CreateOpenRequestSchema = Type.Object({
  dataset: DatasetCodeSchema,
  applicant: ApplicantSchema,
  purpose,
  fields: Type.Optional(fields),
  scope
}, { additionalProperties: false, examples: [requestExample] })
export type CreateOpenRequest = Static<typeof CreateOpenRequestSchema>

const ReviewViewSchema = Type.Object({
  decision: Type.Enum(['approve', 'reject']),
  reason: nullable(Type.String()),
  conditions: nullable(Type.String()),
  validUntil: nullable(DaySchema),
  reviewer: Type.String(),
  reviewedAt: timestamp
}, { description: 'the office\'s decision' })

const common = {
  id: IdSchema,
  dataset: DatasetCodeSchema,
  status: StatusSchema,
  conditions: nullable(Type.String({ description: 'the conditions of an approval the applicant must keep' })),
  validUntil: nullable(Type.String({ format: 'date', description: 'last day an approval is valid (campus calendar, UTC+8)' })),
  expired: Type.Boolean({ description: 'approved, but validUntil has passed' }),
  createdAt: timestamp
}

export const OpenRequestSchema = Type.Object({
  ...common,
  producerUnit: UnitCodeSchema,
  applicant: ApplicantSchema,
  purpose: Type.String(),
  fields: Type.Array(Type.String()),
  scope: Type.String(),
  review: nullable(ReviewViewSchema),
  updatedAt: timestamp
}, { description: 'A request for conditional-open data (有条件开放申请) from an outside applicant' })
export type OpenRequestView = Static<typeof OpenRequestSchema>

export const CreatedOpenRequestSchema = Type.Object({
  ...common,
  applicant: ApplicantSchema,
  purpose: Type.String(),
  fields: Type.Array(Type.String()),
  scope: Type.String(),
  receipt: Type.String({ description: 'the secret to follow the request with: shown this once, stored only as its SHA-256' }),
  statusUrl: Type.String({ description: 'where to follow the request (add the receipt)' })
}, {
  description: 'The request as filed, with its receipt',
  examples: [{
    ...requestExample,
    id: '7c1e2a3b-4d5f-4a6b-8c9d-0e1f2a3b4c5d',
    status: 'pending_review',
    conditions: null,
    validUntil: null,
    expired: false,
    createdAt: '2026-12-01T08:00:00.000Z',
    receipt: 'pX3o0m1b2Yx9Jm5QeV7s0cT4dWk8uHn6rA2zL1fG9sE',
    statusUrl: '/api/v1/open-requests/7c1e2a3b-4d5f-4a6b-8c9d-0e1f2a3b4c5d/status'
  }]
})

export const OpenRequestStatusSchema = Type.Object({
  ...common,
  reason: nullable(Type.String({ description: 'why it was rejected, or the office\'s note on an approval' })),
  decidedAt: nullable(timestamp)
}, { description: 'Where a request stands, as its applicant sees it' })

export const StatusQuerySchema = Type.Object({
  receipt: Type.String({ minLength: 16, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'the receipt given when the request was filed' })
}, { additionalProperties: false })

export const OpenRequestReviewSchema = Type.Object({
  decision: Type.Enum(['approve', 'reject'], { description: 'approve, or reject with a reason' }),
  reason: Type.Optional(text(2000, 'required to reject; told to the applicant')),
  conditions: Type.Optional(text(4000, 'approval only: the conditions the applicant must keep (R8.2)')),
  validUntil: Type.Optional(Type.String({ format: 'date', description: 'approval only: last day the approval is valid; default one year from today' }))
}, {
  additionalProperties: false,
  examples: [
    { decision: 'approve', reason: 'accredited research institute', conditions: 'aggregate results only; no redistribution', validUntil: '2027-12-31' },
    { decision: 'reject', reason: 'the purpose does not need staff identities' }
  ]
})
export type OpenRequestReview = Static<typeof OpenRequestReviewSchema>

export const OpenRequestParamsSchema = Type.Object({ id: IdSchema })

export const ListOpenRequestsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  status: Type.Optional(StatusSchema),
  dataset: Type.Optional(DatasetCodeSchema)
}, { additionalProperties: false })

export const OpenRequestPageSchema = pageOf(OpenRequestSchema, 'open requests, newest first')
