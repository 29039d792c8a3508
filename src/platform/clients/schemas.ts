import { UnitCodeSchema } from '../codes.js'
import { Type, type Static } from 'typebox'

import { MAX_ALLOWED_ADDRESSES } from '../auth/terminal-control.js'
import { PaginationQuerySchema, pageOf } from '../schemas.js'

/** Roles a machine account may hold: the three officers and the oversight roles stay with people. */
export const CLIENT_ROLES = ['steward', 'consumer'] as const

const ClientIdSchema = Type.String({ pattern: '^dgc_[A-Za-z0-9_-]{16,64}$', description: 'client id', examples: ['dgc_3kq9Zp0aXb1YwQ7e'] })

/** A person's `sub` (token subject); a service client (`client:…`) is not a person. */
export const PersonSubSchema = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^(?!client:)[^\\s/]+$',
  description: 'a person\'s `sub` as their tokens carry it (no whitespace or `/`; `client:…` subjects are service clients, not people)',
  examples: ['zhang.wei']
})

export const CLIENT_KINDS = ['internal', 'vendor'] as const
const timestamp = (description: string) => Type.String({ format: 'date-time', description })
const text = (description: string) => Type.String({ minLength: 1, maxLength: 200, description })

/** The confidentiality agreement (数据保密协议及承诺书) an outside service provider signed (R1.1). */
export const AgreementSchema = Type.Object({
  reference: text('reference of the signed agreement in the school\'s records'),
  signer: text('who signed for the provider'),
  signedAt: timestamp('when it was signed (not in the future)'),
  expiresAt: timestamp('when it ends: the client gets no token from then on, and no token outlives it')
}, { additionalProperties: false, description: 'confidentiality agreement of an outside technical service provider (R1.1)' })
export type Agreement = Static<typeof AgreementSchema>

const VendorSchema = Type.Object({
  name: text('the outside technical service provider (外包/技术服务商)'),
  agreement: AgreementSchema
}, { additionalProperties: false })

const agreementExample = { reference: 'CONF-2026-017', signer: 'Wang Fang', signedAt: '2026-08-20T00:00:00.000Z', expiresAt: '2027-08-31T23:59:59.000Z' }

const clientExample = {
  clientId: 'dgc_3kq9Zp0aXb1YwQ7e',
  name: 'student affairs system',
  unit: 'SA',
  roles: ['steward'],
  status: 'active',
  kind: 'internal',
  vendor: null,
  holder: 'zhang.wei',
  createdBy: 'admin',
  createdAt: '2026-09-01T08:00:00.000Z',
  lastUsedAt: null,
  allowedAddresses: ['10.20.0.0/16', '2001:db8:20::/48']
}
const vendorExample = {
  ...clientExample,
  clientId: 'dgc_Vq81mZ0kLw3Xr5Tn',
  name: 'campus card maintenance (outsourced)',
  roles: ['consumer'],
  kind: 'vendor',
  vendor: {
    name: 'Tianjin Example Technology Co.',
    agreement: { ...agreementExample, expired: false, recordedBy: 'admin', recordedAt: '2026-09-01T08:00:00.000Z' }
  }
}

/** Terminal control (终端管控, 004 §11): where a client's tokens are accepted from. */
export const AllowedAddressesSchema = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  maxItems: MAX_ALLOWED_ADDRESSES,
  description: 'terminal control (终端管控, 004 §11): the IPv4/IPv6 addresses and CIDR ranges (`10.20.0.0/16`, `2001:db8::/32`) the ' +
    'client\'s tokens, and the token endpoint for it, are accepted from (403 `AUTH_ADDRESS_NOT_ALLOWED` elsewhere); empty: from anywhere. ' +
    'Stored in canonical form, each once.',
  examples: [['10.20.0.0/16', '2001:db8:20::/48']]
})

export const ServiceClientSchema = Type.Object({
  clientId: ClientIdSchema,
  name: Type.String(),
  unit: UnitCodeSchema,
  roles: Type.Array(Type.Enum([...CLIENT_ROLES])),
  status: Type.Enum(['active', 'disabled']),
  kind: Type.Enum([...CLIENT_KINDS], { description: '`vendor`: run by an outside technical service provider under a confidentiality agreement' }),
  vendor: Type.Union([
    Type.Object({
      name: Type.String(),
      agreement: Type.Object({
        ...AgreementSchema.properties,
        expired: Type.Boolean({ description: 'the agreement has ended: the client gets no token until a renewal is recorded' }),
        recordedBy: Type.String({ description: 'who recorded this agreement' }),
        recordedAt: timestamp('when it was recorded')
      })
    }),
    Type.Null()
  ], { description: 'the provider and its agreement; null for an internal client' }),
  holder: Type.Union([PersonSubSchema, Type.Null()], { description: 'the person responsible for the client; their offboarding disables it' }),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  allowedAddresses: AllowedAddressesSchema
}, { description: 'A business system that obtains tokens with the client-credentials grant', examples: [clientExample, vendorExample] })
export type ServiceClientView = Static<typeof ServiceClientSchema>

export const CreatedClientSchema = Type.Object({
  ...ServiceClientSchema.properties,
  clientSecret: Type.String({ description: 'shown once: only its scrypt hash is stored' })
}, {
  examples: [{ ...clientExample, clientSecret: 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c' }]
})

export const CreateClientSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200, description: 'what system this is' }),
  unit: UnitCodeSchema,
  roles: Type.Array(Type.Enum([...CLIENT_ROLES]), { minItems: 1, maxItems: CLIENT_ROLES.length, uniqueItems: true }),
  kind: Type.Optional(Type.Enum([...CLIENT_KINDS], { description: 'default: `vendor` when `vendor` is given, else `internal`' })),
  vendor: Type.Optional(VendorSchema),
  holder: Type.Optional(PersonSubSchema),
  allowedAddresses: Type.Optional(AllowedAddressesSchema)
}, {
  additionalProperties: false,
  examples: [
    { name: 'student affairs system', unit: 'SA', roles: ['steward'], holder: 'zhang.wei', allowedAddresses: ['10.20.0.0/16'] },
    { name: vendorExample.name, unit: 'SA', roles: ['consumer'], kind: 'vendor', holder: 'zhang.wei', vendor: { name: vendorExample.vendor.name, agreement: agreementExample } }
  ]
})
export type CreateClient = Static<typeof CreateClientSchema>

export const UpdateClientSchema = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'what system this is' })),
  allowedAddresses: Type.Optional(AllowedAddressesSchema)
}, {
  additionalProperties: false,
  minProperties: 1,
  description: 'what changes; the rest stays',
  examples: [{ allowedAddresses: ['10.20.0.0/16', '10.30.1.15'] }, { allowedAddresses: [] }]
})
export type UpdateClient = Static<typeof UpdateClientSchema>

export const HolderBodySchema = Type.Object({
  holder: PersonSubSchema
}, { additionalProperties: false, description: 'the person who answers for the client from now on', examples: [{ holder: 'li.na' }] })

export const RenewAgreementSchema = Type.Object({ ...AgreementSchema.properties }, {
  additionalProperties: false,
  description: 'the renewed confidentiality agreement; it replaces the one on record for new tokens',
  examples: [{ reference: 'CONF-2027-031', signer: 'Wang Fang', signedAt: '2027-08-25T00:00:00.000Z', expiresAt: '2028-08-31T23:59:59.000Z' }]
})

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
