import { DatasetCodeSchema, UnitCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'

export const SystemIdSchema = Type.String({ format: 'uuid', description: 'id of the business system', examples: ['0b8f3c2e-6a51-4f0e-9d7c-2f4a1e5b9c30'] })

const OwnerSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'the person responsible for the system (责任人)' }),
  contact: Type.String({ minLength: 1, maxLength: 200, description: 'phone or e-mail of the responsible person' })
}, { additionalProperties: false, description: 'responsible person of the system (R2.9)' })

const name = Type.String({ minLength: 1, maxLength: 200, description: 'name of the system, unique within its unit' })
const description = Type.String({ maxLength: 2000 })
const datasetList = (extra: { default?: string[] } = {}) => Type.Array(DatasetCodeSchema, {
  maxItems: 200,
  uniqueItems: true,
  description: 'codes of the datasets the system feeds: live (draft or published) datasets its unit produces',
  ...extra
})
const datasets = datasetList()
// the patterns of UnitCodeSchema and DatasetCodeSchema, with descriptions of their own
const unitCode = (description: string) => Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description })
const datasetCode = (description: string) => Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description })
const timestamp = Type.String({ format: 'date-time' })

const example = {
  id: '0b8f3c2e-6a51-4f0e-9d7c-2f4a1e5b9c30',
  unit: 'CS',
  name: 'Student affairs system',
  description: 'enrolment, status changes and graduation',
  owner: { name: 'Li Wei', contact: 'liwei@example.edu.cn' },
  datasets: ['student_basic'],
  confirmedAt: '2026-09-01T08:00:00.000Z',
  confirmedBy: 'liwei',
  confirmationDue: '2027-09-01T08:00:00.000Z',
  overdue: false,
  createdBy: 'liwei',
  createdAt: '2026-09-01T08:00:00.000Z',
  updatedAt: '2026-09-01T08:00:00.000Z'
}

export const SystemSchema = Type.Object({
  id: SystemIdSchema,
  unit: UnitCodeSchema,
  name,
  description: Type.Union([description, Type.Null()]),
  owner: OwnerSchema,
  datasets,
  confirmedAt: Type.String({ format: 'date-time', description: 'when the registration was last confirmed (registration counts as the first)' }),
  confirmedBy: Type.String({ description: 'who confirmed it last' }),
  confirmationDue: Type.String({ format: 'date-time', description: 'confirmedAt plus the review period (ASSET_REVIEW_DAYS)' }),
  overdue: Type.Boolean({ description: 'the confirmation is past due' }),
  createdBy: Type.String(),
  createdAt: timestamp,
  updatedAt: timestamp
}, {
  description: 'A business system of a unit (业务系统) in the asset registry, with its responsible person and the datasets it feeds',
  examples: [example]
})
export type SystemView = Static<typeof SystemSchema>

export const CreateSystemSchema = Type.Object({
  name,
  description: Type.Optional(description),
  owner: OwnerSchema,
  datasets: Type.Optional(datasetList({ default: [] })),
  unit: Type.Optional(unitCode('unit of the system; a steward registers for its own unit only; default: the caller\'s unit'))
}, {
  additionalProperties: false,
  examples: [{ name: example.name, description: example.description, owner: example.owner, datasets: example.datasets }]
})
export type CreateSystem = Static<typeof CreateSystemSchema>

export const UpdateSystemSchema = Type.Object({
  name: Type.Optional(name),
  description: Type.Optional(Type.Union([description, Type.Null()])),
  owner: Type.Optional(OwnerSchema),
  datasets: Type.Optional(datasets)
}, {
  additionalProperties: false,
  minProperties: 1,
  description: 'the changes; the unit is permanent. A change does not count as a confirmation',
  examples: [{ owner: { name: 'Zhang Min', contact: '+86 22 8888 0000' } }]
})
export type UpdateSystem = Static<typeof UpdateSystemSchema>

export const SystemParamsSchema = Type.Object({ id: SystemIdSchema })

export const ListSystemsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  unit: Type.Optional(unitCode('only systems of this unit')),
  dataset: Type.Optional(datasetCode('only systems that feed this dataset')),
  overdue: Type.Optional(Type.Boolean({ description: 'true: only systems whose confirmation is past due; false: only those that are not' }))
}, { additionalProperties: false })
export type ListSystemsQuery = Static<typeof ListSystemsQuerySchema>

export const SystemPageSchema = pageOf(SystemSchema, 'a page of business systems, ordered by unit and name')

export const ConsistencyQuerySchema = Type.Object({
  unit: Type.Optional(unitCode('only this unit (a steward: its own unit, the default)'))
}, { additionalProperties: false })

const DatasetRefSchema = Type.Object({
  code: DatasetCodeSchema,
  name: Type.String(),
  producerUnit: UnitCodeSchema,
  status: Type.String({ description: 'draft or published' })
})

const UnknownDatasetSchema = Type.Object({
  system: Type.Object({ id: SystemIdSchema, unit: UnitCodeSchema, name }),
  dataset: DatasetCodeSchema,
  reason: Type.Union([
    Type.Literal('not_found'), Type.Literal('retired'), Type.Literal('destroyed'), Type.Literal('other_producer')
  ], { description: 'no such dataset, retired, destroyed, or produced by another unit' })
})

export const ConsistencyReportSchema = Type.Object({
  checkedAt: timestamp,
  unit: Type.Union([UnitCodeSchema, Type.Null()], { description: 'the unit checked; null for every unit' }),
  reviewPeriodDays: Type.Integer({ description: 'ASSET_REVIEW_DAYS: a registration must be confirmed at least this often' }),
  ok: Type.Boolean({ description: 'true when every list below is empty' }),
  datasetsWithoutSystem: Type.Array(DatasetRefSchema, { description: 'live datasets that no system of their producer unit lists' }),
  systemsFeedingNothing: Type.Array(SystemSchema, { description: 'systems that list no live dataset of their unit' }),
  unconfirmed: Type.Array(SystemSchema, { description: 'systems whose last confirmation is older than the review period' }),
  unknownDatasets: Type.Array(UnknownDatasetSchema, { description: 'dataset codes that systems list but that are no longer live datasets of their unit' })
}, {
  description: 'Consistency of the asset registry with the catalog (R2.9)',
  examples: [{
    checkedAt: '2027-10-01T08:00:00.000Z',
    unit: 'CS',
    reviewPeriodDays: 365,
    ok: false,
    datasetsWithoutSystem: [{ code: 'course_grades', name: 'Course grades', producerUnit: 'CS', status: 'published' }],
    systemsFeedingNothing: [],
    unconfirmed: [{ ...example, overdue: true }],
    unknownDatasets: [{ system: { id: example.id, unit: 'CS', name: example.name }, dataset: 'old_roster', reason: 'retired' }]
  }]
})
export type ConsistencyReport = Static<typeof ConsistencyReportSchema>
