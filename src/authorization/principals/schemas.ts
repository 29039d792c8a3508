import { UnitCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'

import { ROLES } from '../../platform/auth/roles.js'
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

const seenExample = {
  sub: 'zhang.wei',
  unit: 'CS',
  roles: ['consumer', 'steward'],
  issuer: 'https://idp.example.edu.cn',
  kind: 'person',
  client: null,
  tokenId: '7d1f3c2a-5b6e-4f80-9a1b-2c3d4e5f6a7b',
  tokenExpiresAt: '2026-11-24T09:00:00.000Z',
  firstSeenAt: '2026-09-01T08:00:00.000Z',
  lastSeenAt: '2026-11-24T08:41:07.000Z',
  uses: 1834
}

export const PrincipalSchema = Type.Object({
  sub: Type.String({ description: 'token subject: a person, or `client:<id>` for a service client' }),
  unit: Type.String({ description: 'the unit the tokens named' }),
  roles: Type.Array(Type.Enum([...ROLES]), { description: 'the role set of this assignment, sorted; a person seen with two role sets has two entries' }),
  issuer: Type.String({ description: 'who issued the tokens (`iss`): Datagate itself or the campus identity provider' }),
  kind: Type.Enum(['person', 'client'], { description: '`client`: a service client\'s client-credentials tokens' }),
  client: Type.Union([Type.String(), Type.Null()], { description: 'the service client id, for a client' }),
  tokenId: Type.Union([Type.String(), Type.Null()], { description: '`jti` of the latest token seen for this assignment (never the token)' }),
  tokenExpiresAt: Type.Union([timestamp('when that token expires'), Type.Null()]),
  firstSeenAt: timestamp('first accepted use of a token with this assignment'),
  lastSeenAt: timestamp('latest accepted use (written in batches: up to PRINCIPALS_FLUSH_MS behind)'),
  uses: Type.Integer({ description: 'accepted requests with this assignment' })
}, {
  description: 'One role assignment seen on accepted tokens (who holds which role, R1.2, 004 §25): issuer, subject, unit and set of roles',
  examples: [seenExample]
})
export type PrincipalView = Static<typeof PrincipalSchema>

export const ListPrincipalsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  role: Type.Optional(Type.Enum([...ROLES], { description: 'only assignments that include this role' })),
  unit: Type.Optional(unitCode('only assignments in this unit'))
}, { additionalProperties: false })

export const PrincipalPageSchema = pageOf(PrincipalSchema, 'a page of role assignments, in the order first seen')

export const OffboardingPageSchema = pageOf(OffboardingSchema, 'a page of departures, newest first')
