import { DatasetCodeSchema, UnitCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'

import { RejectionSchema } from '../../catalog/index.js'

import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'
import { PURPOSE_CODE_PATTERN, PurposeCodeSchema } from '../purposes/schemas.js'

export const CONSENT_KINDS = ['general', 'separate', 'guardian'] as const
/** `expired` is computed: an active consent whose expiresAt has passed. */
export const CONSENT_STATUSES = ['active', 'withdrawn', 'expired'] as const

export const ConsentIdSchema = Type.String({ format: 'uuid', description: 'id of the consent', examples: ['3c9a7e10-4b2d-4f6a-8e1c-5d7f9a0b2c4e'] })

const person = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'the person\'s key in the unit\'s records (student or staff number): the person who consented, or the child a guardian consented for'
})
const purpose = Type.String({ minLength: 1, maxLength: 500, description: 'the purpose in the words of the consent form, if it says more than the listed purpose (optional)' })
const purposeCode = Type.String({
  pattern: PURPOSE_CODE_PATTERN,
  description: 'the purpose consented to, from the office\'s list (`GET /api/v1/purposes`); in use, not retired. Only grants for this purpose serve the person\'s rows (R9.1)'
})
const kind = Type.Enum([...CONSENT_KINDS], {
  description: '`general`; `separate` (单独同意, required for sensitive personal information, R9.2); `guardian` (a guardian\'s consent for a child under 14, R9.3)'
})
const evidence = Type.String({ minLength: 1, maxLength: 500, description: 'reference to the signed form or electronic record that proves the consent' })
const timestamp = Type.String({ format: 'date-time' })
const nullableTimestamp = (description: string) => Type.Union([timestamp, Type.Null()], { description })

const example = {
  id: '3c9a7e10-4b2d-4f6a-8e1c-5d7f9a0b2c4e',
  unit: 'CS',
  person: '2020000001',
  dataset: 'student_health',
  purposeCode: 'physical_examination',
  purpose: 'sharing health records with the campus clinic for the 2026 physical examination',
  kind: 'separate',
  evidence: 'signed form SA-2026-0173, archived by student affairs',
  givenAt: '2026-09-01T08:00:00.000Z',
  expiresAt: '2027-08-31T16:00:00.000Z',
  status: 'active',
  withdrawnAt: null,
  withdrawalReason: null,
  recordedBy: 'cs-steward',
  createdAt: '2026-09-01T09:30:00.000Z'
}

export const ConsentSchema = Type.Object({
  id: ConsentIdSchema,
  unit: UnitCodeSchema,
  person,
  dataset: Type.Union([DatasetCodeSchema, Type.Null()], { description: 'the dataset the consent covers (null only on consents recorded before purposes were listed: they serve no rows)' }),
  purposeCode,
  purpose: Type.Union([purpose, Type.Null()]),
  kind,
  evidence,
  givenAt: Type.String({ format: 'date-time', description: 'when the person (or guardian) gave the consent' }),
  expiresAt: nullableTimestamp('when the consent lapses; null: until withdrawn'),
  status: Type.Enum([...CONSENT_STATUSES], { description: '`active`, `withdrawn`, or `expired` (active but past expiresAt)' }),
  withdrawnAt: nullableTimestamp('when it was withdrawn'),
  withdrawalReason: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
  recordedBy: Type.String({ description: 'who recorded it' }),
  createdAt: timestamp
}, { description: 'A person\'s consent to the use of their personal information for a purpose (R9.1–R9.3)', examples: [example] })
export type ConsentView = Static<typeof ConsentSchema>

export const CreateConsentSchema = Type.Object({
  person,
  dataset: DatasetCodeSchema,
  purposeCode,
  purpose: Type.Optional(purpose),
  kind,
  evidence,
  givenAt: Type.String({ format: 'date-time', description: 'when the consent was given; not in the future' }),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'when it lapses; after givenAt. Omit for a consent that lasts until withdrawn' }))
}, {
  additionalProperties: false,
  examples: [
    {
      person: example.person,
      dataset: example.dataset,
      purposeCode: example.purposeCode,
      purpose: example.purpose,
      kind: example.kind,
      evidence: example.evidence,
      givenAt: example.givenAt,
      expiresAt: example.expiresAt
    },
    {
      person: '2024100042',
      dataset: 'pupil_records',
      purposeCode: 'enrolment',
      kind: 'guardian',
      evidence: 'guardian consent form AP-2026-015',
      givenAt: '2026-08-25T02:00:00.000Z'
    }
  ]
})
export type CreateConsent = Static<typeof CreateConsentSchema>

export const ConsentParamsSchema = Type.Object({ id: ConsentIdSchema })

export const ListConsentsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  person: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'only this person\'s consents' })),
  dataset: Type.Optional(DatasetCodeSchema),
  purposeCode: Type.Optional(PurposeCodeSchema),
  status: Type.Optional(Type.Enum([...CONSENT_STATUSES])),
  kind: Type.Optional(Type.Enum([...CONSENT_KINDS])),
  unit: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'only this unit\'s consents (a unit sees its own whatever it asks)' }))
}, { additionalProperties: false })
export type ListConsentsQuery = Static<typeof ListConsentsQuerySchema>

export const ConsentPageSchema = pageOf(ConsentSchema, 'consents, newest first')

export const WithdrawConsentSchema = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 2000, description: 'why the consent is withdrawn (the person\'s request, the end of the purpose…)' })
}, { additionalProperties: false, examples: [{ reason: 'the student withdrew consent in writing on 2026-11-02 (form SA-2026-0173-W)' }] })

export const WithdrawalResultSchema = Type.Object({
  consent: ConsentSchema
}, {
  description: 'The withdrawn consent. No grant is suspended: from now on the person\'s rows are simply not served under it',
  examples: [{
    consent: { ...example, status: 'withdrawn', withdrawnAt: '2026-11-02T06:00:00.000Z', withdrawalReason: 'withdrawn in writing' }
  }]
})
export type WithdrawalResult = Static<typeof WithdrawalResultSchema>

/** Consents one batch may carry. */
export const MAX_CONSENT_BATCH = 10_000

export const ConsentBatchSchema = Type.Array(Type.Object({}, { additionalProperties: true, description: 'one consent, as `POST /api/v1/consents` takes it; checked one by one' }), {
  minItems: 1,
  maxItems: MAX_CONSENT_BATCH,
  description: `Up to ${MAX_CONSENT_BATCH} consents (more is a 413): a JSON array, or NDJSON (\`application/x-ndjson\`, one consent a line; ` +
    'blank lines are skipped and `index` counts consents, not lines).',
  examples: [[
    { person: '2024100042', dataset: 'pupil_records', purposeCode: 'enrolment', kind: 'guardian', evidence: 'form AP-2026-015', givenAt: '2026-08-25T02:00:00.000Z' },
    { person: '2024100043', dataset: 'pupil_records', purposeCode: 'enrolment', kind: 'guardian', evidence: 'form AP-2026-016', givenAt: '2026-08-25T02:00:00.000Z' }
  ]]
})

export const ConsentBatchResultSchema = Type.Object({
  accepted: Type.Integer({ minimum: 0, description: 'consents recorded' }),
  rejected: Type.Array(RejectionSchema, { description: 'consents not recorded, with the reasons; empty when all were accepted' })
}, {
  description: 'Valid consents were recorded in one transaction; invalid ones were not.',
  examples: [{ accepted: 1, rejected: [{ index: 1, errors: [{ field: 'kind', message: 'dataset pupil_records holds children\'s personal information: it takes a guardian\'s consent (R9.3)' }] }] }]
})
export type ConsentBatchResult = Static<typeof ConsentBatchResultSchema>
