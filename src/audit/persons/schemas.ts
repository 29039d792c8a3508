import { DatasetCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'

import { PaginationQuerySchema } from '../../platform/schemas.js'
import { READ_ACTIONS } from '../events.js'

export const PersonAccessParamsSchema = Type.Object({
  personKey: Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'the person\'s key as the datasets record it (the value of their person-key field: a student or staff number)'
  })
})

export const PersonAccessQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'page size (at most 100)' }),
  cursor: PaginationQuerySchema.cursor,
  dataset: Type.Optional(DatasetCodeSchema),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'accesses at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'accesses before' }))
}, { additionalProperties: false, examples: [{ dataset: 'student_health', from: '2026-09-01T00:00:00Z', limit: 50 }] })
export type PersonAccessQuery = Static<typeof PersonAccessQuerySchema>

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T, description: string) => Type.Union([t, Type.Null()], { description })

export const PersonAccessSchema = Type.Object({
  seq: Type.String({ description: 'the audit event (its position in the chain)' }),
  occurredAt: Type.String({ format: 'date-time', description: 'when the rows were served' }),
  action: Type.Enum([...READ_ACTIONS], { description: 'a read (`query`) or an export' }),
  operation: Type.String({ description: '`data.records.read`, `data.export.write` (the rows an export wrote into its file), `open.records.read`' }),
  dataset: Type.String(),
  unit: Nullable(Type.String(), 'the unit that read (null: an anonymous open-data download)'),
  actor: Type.String({ description: 'the token subject that read (`anonymous` for open data)' }),
  client: Nullable(Type.String(), 'the service client, if a business system read'),
  grant: Nullable(Type.String(), 'the grant the rows were served under'),
  purpose: Nullable(Type.String(), 'the grant\'s purpose'),
  purposeCode: Nullable(Type.String(), 'the purpose (of the office\'s list) the read was served for, under a grant resting on consent'),
  fields: Type.Array(Type.String(), { description: 'the fields served' }),
  masked: Type.Boolean({ description: 'whether any of them was served masked' }),
  maskedFields: Type.Array(Type.String(), { description: 'the fields served masked (or withheld)' }),
  export: Nullable(Type.String(), 'the export whose file holds the rows')
})
export type PersonAccess = Static<typeof PersonAccessSchema>

export const PersonAccessPageSchema = Type.Object({
  digest: Type.String({ description: 'the keyed digest the person is traced under (what the log of this lookup names instead of the person key)' }),
  data: Type.Array(PersonAccessSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page; null on the last page' })
}, {
  description: 'the reads and exports that served a person\'s rows, newest first',
  examples: [{
    digest: '5f0c…',
    data: [{
      seq: '184467',
      occurredAt: '2026-11-03T02:14:09.482113Z',
      action: 'query',
      operation: 'data.records.read',
      dataset: 'student_health',
      unit: 'CLINIC',
      actor: 'clinic-system',
      client: 'clinic-system',
      grant: '0b6f3d52-3f1e-4a55-9a55-0c2b8f7e1d11',
      purpose: 'annual health check follow-up',
      purposeCode: 'health_followup',
      fields: ['student_id', 'name', 'conditions'],
      masked: true,
      maskedFields: ['name'],
      export: null
    }],
    nextCursor: null
  }]
})
