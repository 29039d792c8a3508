import { DatasetCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'
import { PaginationQuerySchema } from '../../platform/schemas.js'
import { OpenAttributeSchema } from '../datasets/schemas.js'

const timestamp = Type.String({ format: 'date-time' })
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

const LevelSchema = Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3)], {
  description: 'review level: 1 the producer unit\'s steward, 2 the data-management office (security_admin), 3 the leading group (leadership)'
})
const LevelRoleSchema = Type.Enum(['steward', 'security_admin', 'leadership'], { description: 'the role that reviews at this level' })

export const OpenReviewBodySchema = Type.Object({
  decision: Type.Enum(['approve', 'reject'], { description: 'approve, or reject with a reason; a rejection closes the round' }),
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'required to reject; recorded with an approval when given' }))
}, {
  additionalProperties: false,
  description: 'The caller\'s review at its level, which the caller\'s role and unit determine',
  examples: [
    { decision: 'approve', reason: 'no personal data; nothing classified (保密审查通过)' },
    { decision: 'reject', reason: 'the contract numbers are internal' }
  ]
})
export type OpenReviewBody = Static<typeof OpenReviewBodySchema>

export const OpenReviewSchema = Type.Object({
  level: LevelSchema,
  role: LevelRoleSchema,
  decision: Type.Enum(['approve', 'reject']),
  reason: nullable(Type.String()),
  reviewer: Type.String({ description: 'token subject of the reviewer' }),
  reviewerUnit: Type.String(),
  reviewedAt: timestamp
})

const example = {
  round: 1,
  status: 'approved',
  awaiting: null,
  reviews: [
    { level: 1, role: 'steward', decision: 'approve', reason: null, reviewer: 'cs-steward', reviewerUnit: 'CS', reviewedAt: '2026-12-01T08:00:00.000Z' },
    { level: 2, role: 'security_admin', decision: 'approve', reason: null, reviewer: 'office', reviewerUnit: 'OFFICE', reviewedAt: '2026-12-02T08:00:00.000Z' },
    { level: 3, role: 'leadership', decision: 'approve', reason: null, reviewer: 'vice-president', reviewerUnit: 'LEAD', reviewedAt: '2026-12-03T08:00:00.000Z' }
  ],
  startedBy: 'cs-steward',
  startedAt: '2026-12-01T08:00:00.000Z',
  closedAt: '2026-12-03T08:00:00.000Z',
  approvedOpenAttribute: 'conditional'
}

export const RoundSchema = Type.Object({
  round: Type.Integer({ minimum: 1, description: 'number of the round for this dataset, from 1' }),
  status: Type.Enum(['in_review', 'approved', 'rejected'], { description: 'in_review until level 3 approves (approved) or a level rejects (rejected)' }),
  awaiting: nullable(Type.Object({ level: LevelSchema, role: LevelRoleSchema }, { description: 'the level the round waits for; null once closed' })),
  reviews: Type.Array(OpenReviewSchema, { description: 'the reviews of the round, by level' }),
  startedBy: Type.String({ description: 'the level-1 reviewer who opened the round' }),
  startedAt: timestamp,
  closedAt: nullable(timestamp),
  approvedOpenAttribute: nullable(OpenAttributeSchema)
}, { description: 'A round of the three-level confidentiality review (保密审查, R8.3)', examples: [example] })
export type RoundView = Static<typeof RoundSchema>

export const OpenCatalogStateSchema = Type.Object({
  open: Type.Boolean({ description: 'the dataset is in the open catalog now' }),
  round: nullable(Type.Integer({ description: 'the approved round it is open by; when closed, the last round that closed' })),
  since: nullable(Type.String({ format: 'date-time', description: 'when the leading group approved that round' })),
  reason: nullable(Type.String({ description: 'why it is not in the open catalog; null when it is' }))
}, {
  description: 'Whether the dataset is in the open catalog (开放目录) now, computed from its state: published, open attribute not ' +
    'none, its latest closed round approved, and its open attribute neither set to none nor widened since',
  examples: [{ open: true, round: 1, since: '2026-12-03T08:00:00.000Z', reason: null }]
})

export const ReviewOutcomeSchema = Type.Object({
  dataset: DatasetCodeSchema,
  review: OpenReviewSchema,
  round: RoundSchema,
  openCatalog: OpenCatalogStateSchema
}, { description: 'The review recorded, the round as it now stands, and whether the dataset is in the open catalog' })

export const ListRoundsQuerySchema = Type.Object({ ...PaginationQuerySchema }, { additionalProperties: false })

export const RoundPageSchema = Type.Object({
  dataset: DatasetCodeSchema,
  openCatalog: OpenCatalogStateSchema,
  data: Type.Array(RoundSchema),
  nextCursor: nullable(Type.String({ description: 'cursor of the next page; null on the last page' }))
}, { description: 'the review rounds of a dataset, newest first, and whether it is in the open catalog now' })
