import { Type, type Static } from 'typebox'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'

export const PURPOSE_CODE_PATTERN = '^[a-z][a-z0-9_]{1,63}$'
export const PurposeCodeSchema = Type.String({
  pattern: PURPOSE_CODE_PATTERN,
  description: 'the purpose\'s code: lower-case letters, digits and `_`, 2–64 characters, starting with a letter',
  examples: ['scholarship_assessment']
})

const nameZh = Type.String({ minLength: 1, maxLength: 200, description: 'its name in Chinese' })
const nameEn = Type.String({ minLength: 1, maxLength: 200, description: 'its name in English' })
const description = Type.String({ minLength: 1, maxLength: 2000, description: 'what the data is used for under this purpose, as a person is told when asked to consent' })
const timestamp = Type.String({ format: 'date-time' })

const example = {
  code: 'scholarship_assessment',
  nameZh: '奖助学金评定',
  nameEn: 'Scholarship assessment',
  description: 'assessing applications for scholarships and grants of the current academic year',
  retired: false,
  retiredAt: null,
  createdBy: 'office-wang',
  createdAt: '2026-09-01T08:00:00.000Z',
  updatedAt: '2026-09-01T08:00:00.000Z'
}

export const PurposeSchema = Type.Object({
  code: PurposeCodeSchema,
  nameZh,
  nameEn,
  description,
  retired: Type.Boolean({ description: 'a retired purpose is kept (consents and grants name it) but no new consent or request may name it' }),
  retiredAt: Type.Union([timestamp, Type.Null()]),
  createdBy: Type.String(),
  createdAt: timestamp,
  updatedAt: timestamp
}, { description: 'A purpose of use in the campus\'s list (R9.1: consent is per purpose)', examples: [example] })
export type PurposeView = Static<typeof PurposeSchema>

export const CreatePurposeSchema = Type.Object({ code: PurposeCodeSchema, nameZh, nameEn, description }, {
  additionalProperties: false,
  examples: [{ code: example.code, nameZh: example.nameZh, nameEn: example.nameEn, description: example.description }]
})
export type CreatePurpose = Static<typeof CreatePurposeSchema>

export const UpdatePurposeSchema = Type.Object({
  nameZh: Type.Optional(nameZh),
  nameEn: Type.Optional(nameEn),
  description: Type.Optional(description),
  retired: Type.Optional(Type.Boolean({ description: 'true retires the purpose (it is never deleted; consents and grants naming it keep it); false brings it back into use' }))
}, {
  additionalProperties: false,
  minProperties: 1,
  examples: [{ description: 'assessing applications for scholarships, grants and bursaries' }, { retired: true }]
})
export type UpdatePurpose = Static<typeof UpdatePurposeSchema>

export const PurposeParamsSchema = Type.Object({ code: PurposeCodeSchema })

export const ListPurposesQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  retired: Type.Optional(Type.Boolean({ description: 'only retired purposes (true) or only those in use (false); both by default' }))
}, { additionalProperties: false })
export type ListPurposesQuery = Static<typeof ListPurposesQuerySchema>

export const PurposePageSchema = pageOf(PurposeSchema, 'purposes, by code')
