import { DatasetCodeSchema } from '../../platform/codes.js'
import { Type } from 'typebox'

import { DATA_FORMATS } from './format.js'
import { DEFAULT_LIMIT, MAX_LIMIT, WHERE_OPERATORS } from './plan.js'

export const DataParamsSchema = Type.Object({ dataset: DatasetCodeSchema })

const GrantParam = Type.Optional(Type.String({ format: 'uuid', description: 'the grant to read under, when several of the caller\'s grants apply' }))

export const RecordsQuerySchema = Type.Object({
  fields: Type.Optional(Type.String({ maxLength: 4000, description: 'comma-separated field names, all within the grant (default: every granted field)', examples: ['student_id,name,college'] })),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `rows per page (at most ${MAX_LIMIT})` }),
  cursor: Type.Optional(Type.String({ maxLength: 2800, pattern: '^[A-Za-z0-9_-]+$', description: 'the `nextCursor` of the previous page (sealed: only valid under the grant that issued it)' })),
  grant: GrantParam,
  format: Type.Optional(Type.Enum([...DATA_FORMATS], { description: 'json (default), csv or ndjson; the Accept header (text/csv, application/x-ndjson) chooses too' }))
}, {
  // filters: where[field]=value, where[field][op]=value
  patternProperties: { '^where\\[': Type.Unknown() },
  additionalProperties: false
})

export const SchemaQuerySchema = Type.Object({ grant: GrantParam }, { additionalProperties: false })

const FieldName = Type.String()

export const DataPageSchema = Type.Object({
  data: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'the rows: granted fields only, masked by the grant\'s policy' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page; null on the last page' }),
  grant: Type.String({ format: 'uuid', description: 'the grant the rows were read under' }),
  masked: Type.Array(FieldName, { description: 'fields of the page that are masked, hashed, generalised or withheld' })
}, {
  description: 'One page of a dataset read under a grant. The audit event of the read is in the X-Audit-Event header.',
  examples: [{
    data: [
      { student_id: '2023****01', name: '张*', college: 'CS', year: 2023 },
      { student_id: '2023****02', name: '李*', college: 'CS', year: 2023 }
    ],
    nextCursor: 'q3J0b2tlbi1vcGFxdWU',
    grant: '7d1f0e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6',
    masked: ['student_id', 'name']
  }]
})

export const DataSchemaSchema = Type.Object({
  dataset: Type.String(),
  name: Type.String(),
  grant: Type.String({ format: 'uuid' }),
  validUntil: Type.String({ format: 'date' }),
  accessModes: Type.Array(Type.String()),
  dailyRowQuota: Type.Integer(),
  rowsUsedToday: Type.Integer({ description: 'rows read under the grant today (campus day), as this gateway counts them' }),
  profile: Type.Union([Type.Enum(['display', 'internal_analysis', 'third_party']), Type.Null()], { description: 'the masking profile applied; null when the office approved the grant unmasked' }),
  rowFilter: Type.Record(Type.String(), Type.Unknown(), { description: 'the grant\'s own row filter, ANDed with every read' }),
  consent: Type.Union([Type.Object({
    purposeCode: Type.Union([Type.String(), Type.Null()], { description: 'the purpose the persons\' consents must be for (null: none named, and no row is served)' })
  }), Type.Null()], { description: 'the grant rests on consent: only rows of persons holding a valid consent for the dataset and this purpose are served; others are absent' }),
  fields: Type.Array(Type.Object({
    name: FieldName,
    type: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    piType: Type.Union([Type.String(), Type.Null()]),
    masked: Type.Boolean(),
    strategy: Type.String({ description: 'the masking strategy applied (keep: as stored)' }),
    filters: Type.Array(Type.Enum([...WHERE_OPERATORS]), { description: 'operators usable in where[field][op]; masked fields take only eq and in, compared with the real values' })
  })),
  formats: Type.Array(Type.Enum([...DATA_FORMATS])),
  maxLimit: Type.Integer()
}, {
  description: 'What the caller may read of a dataset under its grant, and nothing about anything else',
  examples: [{
    dataset: 'students',
    name: 'Students',
    grant: '7d1f0e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6',
    validUntil: '2027-06-30',
    accessModes: ['api'],
    dailyRowQuota: 5000,
    rowsUsedToday: 200,
    profile: 'display',
    rowFilter: { college: 'CS' },
    consent: null,
    fields: [
      { name: 'student_id', type: 'string', description: null, piType: 'student_id', masked: true, strategy: 'mask', filters: ['eq', 'in'] },
      { name: 'year', type: 'integer', description: null, piType: null, masked: false, strategy: 'keep', filters: ['eq', 'in', 'ne', 'gt', 'gte', 'lt', 'lte'] }
    ],
    formats: ['json', 'csv', 'ndjson'],
    maxLimit: 1000
  }]
})
