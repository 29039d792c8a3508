import { Type, type Static } from 'typebox'
import { UnitCodeSchema } from '../../catalog/units/schemas.js'
import { PaginationQuerySchema, pageOf } from '../schemas.js'

/** Roles a machine account may hold: the three officers and the oversight roles stay with people. */
export const CLIENT_ROLES = ['steward', 'consumer'] as const

const ClientIdSchema = Type.String({ pattern: '^dgc_[A-Za-z0-9_-]{16,64}$', description: 'client id', examples: ['dgc_3kq9Zp0aXb1YwQ7e'] })

export const ServiceClientSchema = Type.Object({
  clientId: ClientIdSchema,
  name: Type.String(),
  unit: UnitCodeSchema,
  roles: Type.Array(Type.Enum([...CLIENT_ROLES])),
  status: Type.Enum(['active', 'disabled']),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}, { description: 'A business system that obtains tokens with the client-credentials grant' })
export type ServiceClientView = Static<typeof ServiceClientSchema>

export const CreatedClientSchema = Type.Object({
  ...ServiceClientSchema.properties,
  clientSecret: Type.String({ description: 'shown once: only its scrypt hash is stored' })
}, {
  examples: [{
    clientId: 'dgc_3kq9Zp0aXb1YwQ7e',
    clientSecret: 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c',
    name: 'student affairs system',
    unit: 'SA',
    roles: ['steward'],
    status: 'active',
    createdBy: 'admin',
    createdAt: '2026-09-01T08:00:00.000Z',
    lastUsedAt: null
  }]
})

export const CreateClientSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200, description: 'what system this is' }),
  unit: UnitCodeSchema,
  roles: Type.Array(Type.Enum([...CLIENT_ROLES]), { minItems: 1, maxItems: CLIENT_ROLES.length, uniqueItems: true })
}, {
  additionalProperties: false,
  examples: [{ name: 'student affairs system', unit: 'SA', roles: ['steward'] }]
})
export type CreateClient = Static<typeof CreateClientSchema>

export const ClientParamsSchema = Type.Object({ clientId: ClientIdSchema })
export const ListClientsQuerySchema = Type.Object({ ...PaginationQuerySchema }, { additionalProperties: false })
export const ClientPageSchema = pageOf(ServiceClientSchema, 'a page of service clients, ordered by client id')

export const TokenRequestSchema = Type.Object({
  grant_type: Type.Literal('client_credentials'),
  client_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  client_secret: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  scope: Type.Optional(Type.String({ maxLength: 200, description: 'ignored: a client always gets its registered roles' }))
}, {
  additionalProperties: false,
  description: 'RFC 6749 §4.4 client-credentials request, as a form or JSON; the credentials may instead come in HTTP Basic',
  examples: [{ grant_type: 'client_credentials', client_id: 'dgc_3kq9Zp0aXb1YwQ7e', client_secret: '…' }]
})
export type TokenRequest = Static<typeof TokenRequestSchema>

export const TokenResponseSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds' })
}, { description: 'RFC 6749 §5.1 token response (its names are the standard\'s, not camelCase)' })
