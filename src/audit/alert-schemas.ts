import { Type, type Static } from 'typebox'
import { PaginationQuerySchema, pageOf } from '../platform/schemas.js'
import { ACCESS_ACTIONS } from './events.js'
import { ALERT_RULE_NAMES, ALERT_RULES } from './alerts/registry.js'

/** The rules whose alerts count events, or rows. */
const countingOf = (counts: 'events' | 'rows') => ALERT_RULES.filter((r) => r.counts === counts).map((r) => r.name).join(', ')
/** The keys of the details of alerts, and the rules whose alerts have them. */
const DETAILS = new Map<string, string[]>()
for (const r of ALERT_RULES) if (r.details !== undefined) DETAILS.set(r.details, [...DETAILS.get(r.details) ?? [], r.name])

export const AlertSchema = Type.Object({
  id: Type.Integer(),
  rule: Type.Enum(ALERT_RULE_NAMES, { description: ALERT_RULES.map((r) => `${r.name}: ${r.description}`).join('; ') }),
  actor: Type.Object({
    sub: Type.String(),
    unit: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()])
  }),
  windowStart: Type.String({ format: 'date-time', description: 'first event counted' }),
  windowEnd: Type.String({ format: 'date-time', description: 'last event counted' }),
  count: Type.Integer({ description: `events (${countingOf('events')}) or rows (${countingOf('rows')}) in the window` }),
  firstSeq: Type.Integer({ description: 'the events behind it: seq range in the log' }),
  lastSeq: Type.Integer(),
  status: Type.Enum(['open', 'acknowledged']),
  ackedBy: Type.Union([Type.String(), Type.Null()]),
  ackedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  details: Type.Record(Type.String(), Type.Unknown(), {
    description: `what the rule found beyond its count: ${[...DETAILS].map(([keys, rules]) => `${rules.join(', ')}: ${keys}`).join('; ')}; the others: empty`
  })
}, {
  description: 'High-risk behaviour recognised in the log and traced to a caller (R11.1)',
  examples: [{
    id: 7,
    rule: 'denials',
    actor: { sub: 'anonymous', unit: null, ip: '10.9.8.7' },
    windowStart: '2026-11-24T08:00:01.000000Z',
    windowEnd: '2026-11-24T08:02:40.000000Z',
    count: 35,
    firstSeq: 1200,
    lastSeq: 1290,
    status: 'open',
    ackedBy: null,
    ackedAt: null,
    note: null,
    createdAt: '2026-11-24T08:02:41.000000Z',
    details: {}
  }, {
    id: 9,
    rule: 'quota',
    actor: { sub: 'dgc_ab12', unit: 'MATH', ip: null },
    windowStart: '2026-11-24T01:00:03.000000Z',
    windowEnd: '2026-11-24T09:41:10.000000Z',
    count: 12500,
    firstSeq: 30211,
    lastSeq: 31877,
    status: 'open',
    ackedBy: null,
    ackedAt: null,
    note: null,
    createdAt: '2026-11-24T09:41:12.000000Z',
    details: { grantId: '5f0c6b1e-2d4a-4c3b-9e8f-1a2b3c4d5e6f', dataset: 'student_basic', day: '2026-11-24', dailyRowQuota: 10000, callers: ['dgc_ab12'] }
  }]
})
export type AlertView = Static<typeof AlertSchema>

export const ListAlertsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  status: Type.Optional(Type.Enum(['open', 'acknowledged']))
}, { additionalProperties: false, examples: [{ status: 'open' }] })
export const AlertPageSchema = pageOf(AlertSchema, 'alerts, oldest first')
export const AlertParamsSchema = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) })
export const AckAlertSchema = Type.Object({
  note: Type.Optional(Type.String({ maxLength: 2000, description: 'what was found, what was done' }))
}, { additionalProperties: false, examples: [{ note: 'misconfigured reporting job at CS; fixed with the unit' }] })

export const AccessReportQuerySchema = Type.Object({
  from: Type.String({ format: 'date-time', description: 'period start (inclusive)' }),
  to: Type.String({ format: 'date-time', description: 'period end (exclusive)' }),
  unit: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'the acting unit' })),
  dataset: Type.Optional(Type.String({ minLength: 1, maxLength: 64 }))
}, { additionalProperties: false, examples: [{ from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z', unit: 'CS' }] })

export const AccessReportSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  truncated: Type.Boolean({ description: 'more than 5,000 groups: narrow the period or filter by unit or dataset' }),
  data: Type.Array(Type.Object({
    unit: Type.Union([Type.String(), Type.Null()]),
    dataset: Type.String(),
    actor: Type.String(),
    action: Type.Enum([...ACCESS_ACTIONS]),
    events: Type.Integer(),
    rows: Type.Integer({ description: 'rows read, exported or written' }),
    first: Type.String({ format: 'date-time' }),
    last: Type.String({ format: 'date-time' })
  }))
}, {
  description: 'Who read or changed what, how often and how much, per unit and dataset',
  examples: [{
    from: '2026-11-01T00:00:00Z',
    to: '2026-12-01T00:00:00Z',
    truncated: false,
    data: [{ unit: 'CS', dataset: 'student_basic', actor: 'dgc_ab12', action: 'query', events: 320, rows: 15800, first: '2026-11-02T01:00:00.000000Z', last: '2026-11-29T23:10:00.000000Z' }]
  }]
})
