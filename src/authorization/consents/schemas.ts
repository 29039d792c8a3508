import { Type, type Static } from 'typebox'
import { DatasetCodeSchema } from '../../catalog/datasets/schemas.js'
import { UnitCodeSchema } from '../../catalog/units/schemas.js'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'

export const CONSENT_KINDS = ['general', 'separate', 'guardian'] as const
/** `expired` is computed: an active consent whose expiresAt has passed. */
export const CONSENT_STATUSES = ['active', 'withdrawn', 'expired'] as const

export const ConsentIdSchema = Type.String({ format: 'uuid', description: 'id of the consent', examples: ['3c9a7e10-4b2d-4f6a-8e1c-5d7f9a0b2c4e'] })

const person = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'the person\'s key in the unit\'s records (student or staff number): the person who consented, or the child a guardian consented for'
})
const purpose = Type.String({ minLength: 1, maxLength: 500, description: 'what the person consented to: the purpose the data may serve (R9.1)' })
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
  dataset: Type.Union([DatasetCodeSchema, Type.Null()], { description: 'the dataset the consent covers; null: the purpose, whatever dataset serves it' }),
  purpose,
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
  dataset: Type.Optional(DatasetCodeSchema),
  purpose,
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
      purpose: example.purpose,
      kind: example.kind,
      evidence: example.evidence,
      givenAt: example.givenAt,
      expiresAt: example.expiresAt
    },
    {
      person: '2024100042',
      dataset: 'pupil_records',
      purpose: 'affiliated primary school: enrolment and class records',
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
  consent: ConsentSchema,
  suspendedGrants: Type.Array(Type.String({ format: 'uuid' }), { description: 'ids of the grants that relied on the consent and are now suspended' })
}, {
  description: 'The withdrawn consent and the grants it suspended',
  examples: [{
    consent: { ...example, status: 'withdrawn', withdrawnAt: '2026-11-02T06:00:00.000Z', withdrawalReason: 'withdrawn in writing' },
    suspendedGrants: ['7d1f0e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6']
  }]
})
export type WithdrawalResult = Static<typeof WithdrawalResultSchema>
