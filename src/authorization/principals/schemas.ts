import { Type, type Static } from 'typebox'
import { UnitCodeSchema } from '../../catalog/units/schemas.js'
import { PersonSubSchema } from '../../platform/clients/schemas.js'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'
import { IdSchema } from '../share-requests/schemas.js'

const timestamp = (description: string) => Type.String({ format: 'date-time', description })
const unitCode = (description: string) => Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description })

export const PrincipalParamsSchema = Type.Object({ sub: PersonSubSchema })

export const OffboardSchema = Type.Object({
  unit: unitCode('the unit the person leaves (a registered unit)'),
  reason: Type.String({ minLength: 1, maxLength: 2000, description: 'why the person leaves (resignation, transfer, end of contract…); recorded on every revocation' }),
  exitAudit: Type.Optional(Type.Boolean({
    default: false,
    description: 'the person is a key person whose departure gets an exit audit (离任审计, R1.4); recorded with the offboarding'
  }))
}, {
  additionalProperties: false,
  examples: [{ unit: 'CS', reason: 'resigned; last working day 2026-09-30', exitAudit: true }]
})
export type Offboard = Static<typeof OffboardSchema>

const example = {
  sub: 'zhang.wei',
  unit: 'CS',
  reason: 'resigned; last working day 2026-09-30',
  exitAudit: true,
  offboardedBy: 'office-liu',
  offboardedAt: '2026-09-30T09:00:00.000Z',
  confidentialityUntil: '2027-09-30T09:00:00.000Z',
  inConfidentiality: true,
  revokedGrants: ['5f0c6b1e-2d4a-4c3b-9e8f-1a2b3c4d5e6f'],
  withdrawnRequests: ['0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70'],
  disabledClients: ['dgc_3kq9Zp0aXb1YwQ7e']
}

export const OffboardingSchema = Type.Object({
  sub: PersonSubSchema,
  unit: UnitCodeSchema,
  reason: Type.String(),
  exitAudit: Type.Boolean({ description: 'a key person: their departure gets an exit audit (R1.4)' }),
  offboardedBy: Type.String({ description: 'who recorded the departure' }),
  offboardedAt: timestamp('when every right was revoked'),
  confidentialityUntil: timestamp('end of the one-year confidentiality period (脱岗管理期): offboardedAt plus one year'),
  inConfidentiality: Type.Boolean({ description: 'the confidentiality period is still running' }),
  revokedGrants: Type.Array(IdSchema, { description: 'grants to the person (active or suspended) that the offboarding revoked' }),
  withdrawnRequests: Type.Array(IdSchema, { description: 'share requests the person filed, pending review or approved, that it withdrew' }),
  disabledClients: Type.Array(Type.String(), { description: 'ids of the service clients the person held that it disabled' })
}, {
  description: 'A person\'s departure (离岗): what was revoked, and their one-year confidentiality period (R1.4)',
  examples: [example]
})
export type OffboardingView = Static<typeof OffboardingSchema>

export const OffboardingQuerySchema = Type.Object({
  unit: Type.Optional(unitCode('the departure from this unit (default: the person\'s latest departure)'))
}, { additionalProperties: false })

export const ListOffboardedQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  inConfidentiality: Type.Optional(Type.Boolean({ description: 'true: only people still in their confidentiality period; false: only those past it' })),
  unit: Type.Optional(unitCode('only departures from this unit'))
}, { additionalProperties: false })
export type ListOffboardedQuery = Static<typeof ListOffboardedQuerySchema>

export const OffboardingPageSchema = pageOf(OffboardingSchema, 'a page of departures, newest first')
