import { Type, type Static } from 'typebox'
import { WHERE_OPERATORS } from '../data/plan.js'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'

export const EXPORT_STATUSES = ['queued', 'running', 'done', 'failed', 'expired'] as const
const Id = Type.String({ format: 'uuid' })
const timestamp = Type.String({ format: 'date-time' })
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

export const ExportParamsSchema = Type.Object({ id: Id })
export const ExportDatasetParamsSchema = Type.Object({
  dataset: Type.String({ pattern: '^[a-z][a-z0-9_]{1,63}$', description: 'the dataset code' })
})

const Scalar = Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean()])
const Values = Type.Union([Scalar, Type.Array(Scalar, { maxItems: 1000 })])
const Operators = Type.Object(
  Object.fromEntries(WHERE_OPERATORS.map((op) => [op, Type.Optional(Values)])),
  { additionalProperties: false, minProperties: 1, maxProperties: 1, description: 'one operator and its value: {"gte": 2022}; `in` takes a list' }
)

export const CreateExportBodySchema = Type.Object({
  grant: Type.Optional(Type.String({ format: 'uuid', description: 'the grant to export under, when several of the caller\'s grants apply' })),
  fields: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
    minItems: 1, maxItems: 200, uniqueItems: true, description: 'fields to export, all within the grant (default: every granted field)'
  })),
  where: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Type.Union([Values, Operators]), {
    maxProperties: 20,
    description: 'filters on granted fields, as for reads: `{"college": "CS"}` (equality), `{"year": {"gte": 2022}}`, `{"college": {"in": ["CS", "LAW"]}}`; ' +
      'masked fields take only equality and in, compared with the real values'
  }))
}, {
  additionalProperties: false,
  examples: [{ fields: ['student_id', 'name', 'college', 'year'], where: { college: 'CS', year: { gte: 2022 } } }]
})
export type CreateExportBody = Static<typeof CreateExportBodySchema>

export const ListExportsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  dataset: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{1,63}$' })),
  status: Type.Optional(Type.Enum([...EXPORT_STATUSES]))
}, { additionalProperties: false })

const example = {
  id: '3c0d7a52-8e1f-4b6a-9d2c-5e4f3a2b1c0d',
  dataset: 'students',
  grant: '7d1f0e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6',
  unit: 'MATH',
  sub: 'math-reader',
  client: null,
  fields: ['student_id', 'name', 'college', 'year'],
  filters: { college: 'CS', year: { gte: 2022 } },
  status: 'done',
  rowsTotal: 12840,
  rowsWritten: 12840,
  progress: 1,
  bytes: 618211,
  sha256: '9f2b5c1e0d4a7b3c6e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f',
  error: null,
  createdAt: '2026-11-24T08:00:00.000Z',
  startedAt: '2026-11-24T08:00:00.120Z',
  finishedAt: '2026-11-24T08:00:02.480Z',
  expiresAt: '2026-11-27T08:00:02.480Z',
  file: '/api/v1/exports/3c0d7a52-8e1f-4b6a-9d2c-5e4f3a2b1c0d/file'
}

export const ExportSchema = Type.Object({
  id: Id,
  dataset: Type.String(),
  grant: Id,
  unit: Type.String({ description: 'the consumer unit the export belongs to' }),
  sub: Type.String({ description: 'who asked for it' }),
  client: nullable(Type.String({ description: 'the service client it was asked through' })),
  fields: Type.Array(Type.String()),
  filters: Type.Record(Type.String(), Type.Unknown(), { description: 'the caller\'s filters (the grant\'s own row filter applies too)' }),
  status: Type.Enum([...EXPORT_STATUSES], { description: 'queued, running, done (the file can be downloaded), failed (see error), expired (the file was deleted)' }),
  rowsTotal: Type.Integer({ description: 'rows the export selects, counted when it was asked for and charged to the grant\'s daily quota' }),
  rowsWritten: Type.Integer({ description: 'rows written so far' }),
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  bytes: nullable(Type.Integer({ description: 'size of the CSV file' })),
  sha256: nullable(Type.String({ description: 'SHA-256 of the CSV file (hex), also sent as Repr-Digest with the file' })),
  error: nullable(Type.String()),
  createdAt: timestamp,
  startedAt: nullable(timestamp),
  finishedAt: nullable(timestamp),
  expiresAt: nullable(Type.String({ format: 'date-time', description: 'the file is deleted then' })),
  file: nullable(Type.String({ description: 'where to download the file, once done' }))
}, { description: 'An export job and its file', examples: [example] })
export type ExportView = Static<typeof ExportSchema>

export const ExportPageSchema = pageOf(ExportSchema, 'Exports of the caller\'s unit, newest first')
