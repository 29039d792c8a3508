import { DatasetCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'

export const IdParamsSchema = Type.Object({ id: Type.String({ format: 'uuid', examples: ['0b6c9a52-8f1d-4c3e-9a7b-2d4e6f8a0c1e'] }) })

export const DESTRUCTION_SCOPES = ['all', 'filter', 'expired'] as const
export const DESTRUCTION_STATUSES = ['pending_review', 'approved', 'witnessed', 'rejected', 'executed'] as const
export const DESTRUCTION_METHODS = ['delete', 'delete+crypto-shred'] as const

const timestamp = Type.String({ format: 'date-time' })
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
const Person = Type.Object({ sub: Type.String(), unit: Type.String() })
const digests = (description?: string) => Type.Object({
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  sm3: Type.String({ pattern: '^[0-9a-f]{64}$' })
}, description ? { description } : {})
const ScopeSchema = Type.Enum([...DESTRUCTION_SCOPES], {
  description: '`all`: every record, and the dataset itself (destroyed, its grants revoked, its data key shredded); ' +
    '`filter`: the records a row filter selects; `expired`: the records first stored before the retention cutoff (R5.2)'
})
const ScalarSchema = Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean()])
const FilterBodySchema = Type.Record(Type.String({ maxLength: 63 }), Type.Union([
  ScalarSchema,
  Type.Object({}, { additionalProperties: true, maxProperties: 1, description: 'one operator: in, ne, gt, gte, lt, lte' })
]), {
  minProperties: 1,
  maxProperties: 20,
  description: 'required with scope `filter` (and only then): the records to destroy, in the row-filter syntax of grants ' +
    '(`{"college": "CS"}` equality, `{"year": {"in": [2015, 2016]}}`, operators in, ne, gt, gte, lt, lte, ANDed); at least one condition'
})
const FilterSchema = nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'the row filter of a `filter` proposal' }))

export const CreateDestructionSchema = Type.Object({
  dataset: DatasetCodeSchema,
  scope: ScopeSchema,
  filter: Type.Optional(FilterBodySchema),
  reason: Type.String({ minLength: 1, maxLength: 2000, description: 'why the records are destroyed (retention ended, purpose fulfilled, withdrawal of consent, a legal duty…)' })
}, {
  additionalProperties: false,
  examples: [
    { dataset: 'student_basic', scope: 'filter', filter: { graduation_year: { lte: 2015 } }, reason: 'alumni records past the ten-year retention of the student affairs rules' },
    { dataset: 'canteen_card_2019', scope: 'all', reason: 'the one-card system of 2019 was decommissioned; its data serves no purpose any more' }
  ]
})
export type CreateDestruction = Static<typeof CreateDestructionSchema>

export const DestructionReviewBodySchema = Type.Object({
  decision: Type.Enum(['approve', 'reject'], { description: 'approve, or reject with a reason (a rejection ends the proposal)' }),
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'required to reject' })),
  party: Type.Optional(Type.Enum(['producer', 'office'], { description: 'which reviewer the caller acts as; inferred from the roles when absent' }))
}, { additionalProperties: false, examples: [{ decision: 'approve', reason: 'checked against the retention schedule' }, { decision: 'reject', reason: 'the records are evidence in a pending appeal' }] })
export type DestructionReviewBody = Static<typeof DestructionReviewBodySchema>

export const WitnessBodySchema = Type.Object({
  note: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'what the supervisor checked' }))
}, { additionalProperties: false, examples: [{ note: 'scope, approvals and the producer\'s retention schedule checked on site' }] })

export const ExecuteBodySchema = Type.Object({
  confirm: Type.String({ minLength: 1, maxLength: 64, description: 'the code of the dataset, given again: execution cannot be undone' })
}, { additionalProperties: false, examples: [{ confirm: 'student_basic' }] })

export const ListDestructionsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  status: Type.Optional(Type.Enum([...DESTRUCTION_STATUSES])),
  scope: Type.Optional(Type.Enum([...DESTRUCTION_SCOPES])),
  dataset: Type.Optional(DatasetCodeSchema)
}, { additionalProperties: false })

export const DestructionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  dataset: Type.String(),
  producerUnit: Type.String(),
  scope: ScopeSchema,
  filter: FilterSchema,
  cutoff: nullable({ ...timestamp, description: '`expired` proposals: records first stored before this instant' }),
  reason: Type.String(),
  rowsInScope: Type.Integer({ description: 'records in scope when proposed (execution counts again)' }),
  status: Type.Enum([...DESTRUCTION_STATUSES], {
    description: '`pending_review` → `approved` (producer steward and office approved) → `witnessed` (a supervisor) → `executed`; or `rejected`'
  }),
  decisionReason: nullable(Type.String()),
  proposedBy: Person,
  proposedAt: timestamp,
  reviews: Type.Array(Type.Object({
    party: Type.Enum(['producer', 'office']),
    decision: Type.Enum(['approve', 'reject']),
    reason: nullable(Type.String()),
    sub: Type.String(),
    unit: Type.String(),
    at: timestamp
  })),
  witness: nullable(Type.Object({ sub: Type.String(), unit: Type.String(), note: nullable(Type.String()), at: timestamp })),
  executor: nullable(Type.Object({ sub: Type.String(), unit: Type.String(), at: timestamp })),
  certificate: nullable(Type.Object({ id: Type.String({ format: 'uuid' }), digest: digests() }))
}, {
  description: 'A destruction proposal and how far it went',
  examples: [{
    id: '0b6c9a52-8f1d-4c3e-9a7b-2d4e6f8a0c1e',
    dataset: 'student_basic',
    producerUnit: 'SA',
    scope: 'expired',
    filter: null,
    cutoff: '2016-11-24T08:00:00.000Z',
    reason: '1200 records past the retention period of 3650 days (R5.2)',
    rowsInScope: 1200,
    status: 'pending_review',
    decisionReason: null,
    proposedBy: { sub: 'system:retention', unit: 'SA' },
    proposedAt: '2026-11-24T08:00:00.000Z',
    reviews: [],
    witness: null,
    executor: null,
    certificate: null
  }]
})
export const DestructionPageSchema = pageOf(DestructionSchema, 'destructions, newest first')

export const CertificateSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  destruction: Type.String({ format: 'uuid' }),
  dataset: Type.String(),
  datasetName: Type.String(),
  producerUnit: Type.String(),
  scope: ScopeSchema,
  filter: FilterSchema,
  cutoff: nullable(timestamp),
  reason: Type.String(),
  rowsDeleted: Type.Integer({ minimum: 0 }),
  recordKeys: Type.Object({
    order: Type.Literal('bytewise', { description: 'keys sorted by their UTF-8 bytes (`LC_ALL=C sort`)' }),
    sha256: Type.String(),
    sm3: Type.String()
  }, { description: 'digests of the destroyed records\' keys, each followed by a newline, in byte order: whoever holds a list of keys can check it; the keys themselves are not kept' }),
  proposedBy: Person,
  proposedAt: timestamp,
  approvals: Type.Array(Type.Object({
    party: Type.Enum(['producer', 'office']),
    role: Type.String(),
    sub: Type.String(),
    unit: Type.String(),
    at: timestamp,
    reason: nullable(Type.String())
  })),
  witness: Type.Object({ sub: Type.String(), unit: Type.String(), at: timestamp, note: nullable(Type.String()) }),
  executor: Person,
  executedAt: timestamp,
  method: Type.Enum([...DESTRUCTION_METHODS], {
    description: '`delete`: the records were deleted; `delete+crypto-shred`: and the dataset\'s data key was destroyed, so that its encrypted fields are unreadable in every copy'
  }),
  dataKey: nullable(Type.Object({
    suite: Type.String(),
    masterFingerprint: nullable(Type.String({ description: 'the master key that wrapped the data key: backups taken before the destruction open only with it' }))
  }, { description: 'the data key destroyed (crypto-shredding); null when none was' })),
  grantsRevoked: Type.Array(Type.String({ format: 'uuid' })),
  datasetStatus: Type.Object({ before: Type.String(), after: Type.String() }),
  residualCopies: Type.String({ description: 'what remains of the data outside the live database, stated plainly' }),
  digest: digests('SHA-256 and SM3 of the canonical JSON (keys sorted at every level, no spaces) of every other member')
}, { description: 'The certificate of an executed destruction (销毁证明): kept for good, unchangeable, after the data is gone (R10.2)' })
export type Certificate = Static<typeof CertificateSchema>
