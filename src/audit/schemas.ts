import { Type, type Static } from 'typebox'
import { PaginationQuerySchema, pageOf } from '../platform/schemas.js'
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from './events.js'

const Seq = Type.Integer({ minimum: 1, description: 'position in the global chain' })
const Hash = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hex digest' })
const Time = Type.String({ format: 'date-time' })
const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()])

const exampleEvent = {
  seq: 42,
  occurredAt: '2026-11-24T08:00:00.123000Z',
  recordedAt: '2026-11-24T08:00:00.125000Z',
  service: 'catalog',
  action: 'insert',
  operation: 'dataset.create',
  outcome: 'success',
  actor: { sub: 'steward-cs', unit: 'CS', roles: ['steward'], client: null, ip: '10.1.2.3' },
  objectType: 'dataset',
  objectId: 'student_basic',
  dataset: 'student_basic',
  fields: null,
  rows: null,
  grantId: null,
  requestId: 'req-7f3a',
  domainEventId: 17,
  details: { after: { grade: 'ordinary' } },
  hashAlg: 'sha256',
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64)
}

export const AuditEventSchema = Type.Object({
  seq: Seq,
  occurredAt: Time,
  recordedAt: Type.String({ format: 'date-time', description: 'when the event was sealed into the chain' }),
  service: Type.String(),
  action: Type.Enum([...AUDIT_ACTIONS]),
  operation: Type.String({ description: 'dotted verb or denied route, e.g. `dataset.create`, `GET /api/v1/audit/events`' }),
  outcome: Type.Enum([...AUDIT_OUTCOMES]),
  actor: Type.Object({
    sub: Type.String({ description: 'token subject; `anonymous` without a valid token' }),
    unit: Nullable(Type.String()),
    roles: Type.Array(Type.String()),
    client: Nullable(Type.String({ description: 'service client id of a client-credentials token' })),
    ip: Nullable(Type.String())
  }),
  objectType: Nullable(Type.String()),
  objectId: Nullable(Type.String()),
  dataset: Nullable(Type.String()),
  fields: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'fields read or changed' }),
  rows: Type.Union([Type.Integer(), Type.Null()], { description: 'rows read, written or exported' }),
  grantId: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  domainEventId: Type.Union([Type.Integer(), Type.Null()], { description: 'the domain event this was relayed from' }),
  details: Type.Record(Type.String(), Type.Unknown(), { description: 'before/after, counts, reasons; never personal data' }),
  hashAlg: Type.Enum(['sha256', 'sm3']),
  prevHash: Hash,
  hash: Hash
}, { description: 'One event of the hash-chained audit log', examples: [exampleEvent] })
export type AuditEventView = Static<typeof AuditEventSchema>

export const ListAuditEventsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'token subject' })),
  unit: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'the actor\'s unit' })),
  dataset: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  action: Type.Optional(Type.Enum([...AUDIT_ACTIONS])),
  outcome: Type.Optional(Type.Enum([...AUDIT_OUTCOMES])),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'occurred at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'occurred before' })),
  format: Type.Optional(Type.Enum(['json', 'csv', 'ndjson'], {
    description: 'json (a page), or an export of every matching event (up to 100,000) as csv or ndjson; also chosen by Accept'
  }))
}, { additionalProperties: false, examples: [{ dataset: 'student_basic', action: 'query', from: '2026-11-01T00:00:00Z', limit: 50 }] })
export type ListAuditEventsQuery = Static<typeof ListAuditEventsQuerySchema>

export const AuditEventPageSchema = pageOf(AuditEventSchema, 'a page of audit events in chain order')

export const VerifyQuerySchema = Type.Object({
  // bounded: ajv takes Infinity and 1e308 for integers, which PostgreSQL's bigint refused (a 500, found by fuzzing)
  from: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'first seq to verify (default: the oldest kept)' })),
  to: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'last seq to verify (default: the chain head)' }))
}, { additionalProperties: false, examples: [{ from: 1, to: 5000 }] })

export const VerificationSchema = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer({ minimum: 0, description: 'events recomputed' }),
  firstBroken: Type.Union([Type.Integer(), Type.Null()], { description: 'seq of the first event or checkpoint found wrong' }),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'what is wrong there' }),
  checkpoints: Type.Integer({ minimum: 0, description: 'signed checkpoints matched' }),
  from: Type.Union([Type.Integer(), Type.Null()]),
  to: Type.Union([Type.Integer(), Type.Null()])
}, {
  description: 'Result of recomputing the chain and checking the checkpoint signatures',
  examples: [
    { ok: true, checked: 5000, firstBroken: null, reason: null, checkpoints: 5, from: 1, to: 5000 },
    { ok: false, checked: 1233, firstBroken: 1234, reason: 'event 1234 does not match its hash', checkpoints: 1, from: 1, to: 5000 }
  ]
})

export const CheckpointSchema = Type.Object({
  seq: Seq,
  headHash: Hash,
  hashAlg: Type.Enum(['sha256', 'sm3']),
  createdAt: Time,
  reason: Type.String({ description: 'events (every AUDIT_CHECKPOINT_EVENTS), interval, purge (retention boundary), manual' }),
  keyId: Type.String({ description: 'kid (RFC 7638 thumbprint) of the platform key that signed' }),
  algorithm: Type.Enum(['EdDSA', 'ES256']),
  signature: Type.String({ description: 'base64url signature of `datagate-audit-checkpoint/v1\\n{seq}\\n{headHash}\\n{hashAlg}\\n{createdAt}`' })
}, {
  description: 'A signed chain head',
  examples: [{ seq: 1000, headHash: 'c'.repeat(64), hashAlg: 'sha256', createdAt: '2026-11-24T08:01:00.000000Z', reason: 'events', keyId: 'k3aZ…', algorithm: 'EdDSA', signature: 'MEUC…' }]
})
export const ListCheckpointsQuerySchema = Type.Object({ ...PaginationQuerySchema }, { additionalProperties: false })
export const CheckpointPageSchema = pageOf(CheckpointSchema, 'signed checkpoints in chain order')
