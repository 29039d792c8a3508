import { Type, type Static, type TStringOptions } from 'typebox'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'
import { BLACKLIST_STATUSES } from './repository.js'

const timestamp = Type.String({ format: 'date-time' })
const KindSchema = Type.Enum(['principal', 'client', 'ip'], {
  description: 'principal: a token subject (`sub`); client: a service client id; ip: an IPv4 or IPv6 address or CIDR range'
})
const UNIT_PATTERN = '^[A-Za-z0-9_-]{1,32}$'
const nullableString = (options: TStringOptions = {}) => Type.Union([Type.String(options), Type.Null()])
const IdSchema = Type.String({ format: 'uuid', examples: ['3a7c1e52-9d0b-4f6e-8a21-5b4c3d2e1f00'] })

const example = {
  id: '3a7c1e52-9d0b-4f6e-8a21-5b4c3d2e1f00',
  kind: 'ip',
  value: '10.9.8.0/24',
  unit: null,
  reason: 'credential stuffing against the token endpoint, ticket SEC-2026-114',
  expiresAt: '2026-11-25T08:00:00.000Z',
  status: 'active',
  alertId: null,
  createdBy: 'sec-officer-1',
  createdAt: '2026-11-24T08:00:00.000Z',
  liftedBy: null,
  liftedAt: null,
  liftReason: null
}

export const BlacklistEntrySchema = Type.Object({
  id: IdSchema,
  kind: KindSchema,
  value: Type.String({ description: 'the subject, client id, or address or range in canonical form' }),
  unit: nullableString({ pattern: UNIT_PATTERN, description: 'principal only: the unit whose tokens of the subject are refused; null: every unit' }),
  reason: Type.String(),
  expiresAt: nullableString({ format: 'date-time', description: 'null: until lifted' }),
  status: Type.Enum([...BLACKLIST_STATUSES], { description: 'active (refused on every request), expired, lifted' }),
  alertId: Type.Union([Type.Integer(), Type.Null()], { description: 'the alert that blocked the caller automatically (createdBy `system:alerts`)' }),
  createdBy: Type.String(),
  createdAt: timestamp,
  liftedBy: nullableString(),
  liftedAt: nullableString({ format: 'date-time' }),
  liftReason: nullableString()
}, { description: 'A blacklist entry (R11.2): kept for good as evidence, lifted or expired but never deleted', examples: [example] })
export type BlacklistEntryView = Static<typeof BlacklistEntrySchema>

export const CreateBlacklistEntrySchema = Type.Object({
  kind: KindSchema,
  value: Type.String({ minLength: 1, maxLength: 200, description: 'for ip: 10.9.8.7, 10.9.8.0/24, 2001:db8::1 or 2001:db8::/48' }),
  unit: Type.Optional(Type.String({ pattern: UNIT_PATTERN, description: 'principal only: block the subject\'s tokens of this unit only' })),
  reason: Type.String({ minLength: 1, maxLength: 2000, description: 'why; kept as evidence, never told to the blocked caller' }),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'when the block ends on its own; absent: until lifted' }))
}, {
  additionalProperties: false,
  examples: [
    { kind: 'ip', value: '10.9.8.0/24', reason: 'credential stuffing against the token endpoint, ticket SEC-2026-114', expiresAt: '2026-11-25T08:00:00Z' },
    { kind: 'principal', value: 'zhang.wei', unit: 'CS', reason: 'bulk export outside the agreed purpose; under investigation' }
  ]
})

export const LiftBlacklistEntrySchema = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 2000, description: 'why the block ends early' })
}, { additionalProperties: false, examples: [{ reason: 'investigation closed: the reporting job was misconfigured' }] })

export const ListBlacklistQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  status: Type.Optional(Type.Enum([...BLACKLIST_STATUSES])),
  kind: Type.Optional(KindSchema),
  value: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'exactly this value (canonical form for ip)' }))
}, { additionalProperties: false, examples: [{ status: 'active', kind: 'principal' }] })

export const BlacklistPageSchema = pageOf(BlacklistEntrySchema, 'blacklist entries, newest first')
export const BlacklistParamsSchema = Type.Object({ id: IdSchema })
