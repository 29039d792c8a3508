import { Type, type Static } from 'typebox'
import { UnitCodeSchema } from '../../platform/codes.js'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'

const OfficerSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'name of the data-protection officer (数据保护负责人, R1.4)' }),
  contact: Type.String({ minLength: 1, maxLength: 200, description: 'phone or e-mail of the officer' })
}, { additionalProperties: false })

const name = Type.String({ minLength: 1, maxLength: 200, description: 'full name of the unit' })
const description = Type.String({ maxLength: 2000 })

export const UnitSchema = Type.Object({
  code: UnitCodeSchema,
  name,
  officer: OfficerSchema,
  description: Type.Union([description, Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
}, {
  description: 'A second-level unit (二级单位): producer of its own authoritative data, consumer of others\'',
  examples: [{
    code: 'CS',
    name: 'School of Computer Science',
    officer: { name: 'Li Wei', contact: 'liwei@example.edu.cn' },
    description: null,
    createdAt: '2026-09-01T08:00:00.000Z',
    updatedAt: '2026-09-01T08:00:00.000Z'
  }]
})
export type UnitView = Static<typeof UnitSchema>

export const CreateUnitSchema = Type.Object({
  code: UnitCodeSchema,
  name,
  officer: OfficerSchema,
  description: Type.Optional(description)
}, {
  additionalProperties: false,
  examples: [{ code: 'CS', name: 'School of Computer Science', officer: { name: 'Li Wei', contact: 'liwei@example.edu.cn' } }]
})
export type CreateUnit = Static<typeof CreateUnitSchema>

export const UpdateUnitSchema = Type.Object({
  name: Type.Optional(name),
  officer: Type.Optional(OfficerSchema),
  description: Type.Optional(Type.Union([description, Type.Null()]))
}, {
  additionalProperties: false,
  minProperties: 1,
  examples: [{ officer: { name: 'Zhang Min', contact: '+86 22 8888 0000' } }]
})
export type UpdateUnit = Static<typeof UpdateUnitSchema>

export const UnitParamsSchema = Type.Object({ code: UnitCodeSchema })

export const ListUnitsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'substring of code or name' }))
}, { additionalProperties: false })
export type ListUnitsQuery = Static<typeof ListUnitsQuerySchema>

export const UnitPageSchema = pageOf(UnitSchema, 'a page of units, ordered by code')
