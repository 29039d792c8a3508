import { UnitCodeSchema } from '../../platform/codes.js'
import { Type, type Static } from 'typebox'
import { DatasetCodeSchema } from '../../platform/codes.js'
import { PaginationQuerySchema, pageOf } from '../../platform/schemas.js'

import {
  ATTRIBUTES, CATEGORIES, COLLECTION_FREQUENCIES, COLLECTION_METHODS, FIELD_FORMATS, FIELD_TYPES, FREQUENCIES, GRADES, GRADING_STATUSES,
  NATIONAL_GRADES, PI_TYPES, STATUSES
} from '../../platform/vocabulary.js'

const labelled = <const T extends readonly string[]>(values: T, description: string) => Type.Enum([...values] as T[number][], { description })

export const CategorySchema = labelled(CATEGORIES,
  'subject category (数据分类, R2.2): student 学生, staff 教职工, teaching 教学, asset 资产, research 科研, school 学校基本, routine 日常管理')
export const GradeSchema = labelled(GRADES,
  'grade (数据分级, R2.3), highest first: important 重要, ordinary 一般, internal_public 内部公开, external_public 外部公开')
export const NationalGradeSchema = labelled(NATIONAL_GRADES,
  'grade on the national scale of GB/T 43697-2024: core 核心数据, important 重要数据, general 一般数据')
export const ShareAttributeSchema = labelled(ATTRIBUTES,
  'share attribute (共享属性, R2.4): unconditional 无条件共享, conditional 有条件共享, none 不予共享')
export const OpenAttributeSchema = labelled(ATTRIBUTES,
  'open attribute (开放属性, R2.5): unconditional 无条件开放, conditional 有条件开放, none 不予开放')
export const StatusSchema = labelled(STATUSES, 'draft 草稿, published 已发布, retired 已停用, destroyed 已销毁')
export const FrequencySchema = labelled(FREQUENCIES, 'how often the producer refreshes the data (更新频率, R2.10)')
export const FieldTypeSchema = labelled(FIELD_TYPES, 'value type; date is YYYY-MM-DD, datetime is RFC 3339')
export const PiTypeSchema = labelled(PI_TYPES,
  'kind of personal information (个人信息类型); ethnicity, religion, health, biometric, bank_card and location are sensitive (敏感个人信息, R9.2)')
export const FormatSchema = labelled(FIELD_FORMATS,
  'value format checked at ingest: id_number is the 18-digit resident ID of GB 11643 (check digit and date), mobile a mainland mobile number, email an address')

export const CollectionMethodSchema = labelled(COLLECTION_METHODS,
  'how the data is collected (采集方式): self_reported 本人填报, business_process 业务办理中产生, manual_entry 人工录入, ' +
  'device 设备采集 (card readers, door access, cameras), external_source 从外部机构获取, derived 由其他数据加工')
export const GradingStatusSchema = labelled(GRADING_STATUSES,
  'the office\'s decision on the grading: proposed 待确认 (the producer\'s terms await the office), confirmed 已确认, rejected 已驳回')

const text = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, description })
const ReferenceSchema = (description?: string) => Type.Object({
  reference: text(500, 'the document\'s number or URL'),
  date: Type.String({ format: 'date', description: 'the day it was made, YYYY-MM-DD' })
}, { additionalProperties: false, ...(description !== undefined ? { description } : {}) })

export const CollectionSchema = Type.Object({
  method: Type.Optional(CollectionMethodSchema),
  channel: Type.Optional(text(500, 'through what the data arrives (采集渠道): a business system, a form, an interface')),
  scope: Type.Optional(text(2000, 'whose data and which items (采集范围): only what the duty requires')),
  volume: Type.Optional(text(500, 'how much (采集数量): persons or records, an estimate')),
  frequency: Type.Optional(labelled(COLLECTION_FREQUENCIES, 'how often it is collected (采集频度)')),
  legalBasis: Type.Optional(text(2000, 'the law, regulation or duty that allows the collection')),
  rules: Type.Optional(text(4000, 'the collection rules shown to the persons (采集规则告知): the text or its URL')),
  riskAssessment: Type.Optional(ReferenceSchema('the risk assessment made before the collection began (R3.2)')),
  necessityAssessment: Type.Optional(Type.Union([text(500, 'the document\'s number or URL'), ReferenceSchema()], {
    description: 'the necessity assessment sensitive or children\'s personal information requires (001 §51, 003 3(4)): `{reference, date}` or the reference alone'
  })),
  collectiveDecision: Type.Optional(Type.Union([text(500, 'the minutes\' number or URL'), ReferenceSchema()], {
    description: 'the unit leadership\'s collective decision (集体决策) sensitive or children\'s personal information requires: `{reference, date}` or the reference alone'
  }))
}, {
  additionalProperties: false,
  description: 'How the data is collected (R3.2). A dataset holding personal information is confirmed by the office only with every part ' +
    'but `volume`; sensitive or children\'s personal information also needs `necessityAssessment` and `collectiveDecision`.',
  examples: [{
    method: 'business_process',
    channel: 'student affairs system, nightly interface',
    scope: 'enrolled students: number, name, ID number, college',
    volume: 'about 30,000 persons',
    frequency: 'daily',
    legalBasis: 'enrolment and student management duties (Ministry of Education Order No. 41)',
    rules: 'https://xsc.example.edu.cn/privacy-notice',
    riskAssessment: { reference: 'XSC-PIA-2026-03', date: '2026-03-01' }
  }]
})
export type Collection = Static<typeof CollectionSchema>

export const FieldNameSchema = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,62}$', description: 'field name: a letter, then letters, digits and _' })

export const MaskingRuleSchema = Type.Object({
  strategy: Type.String({ pattern: '^[a-z_]{1,32}$', description: 'masking strategy (keep, mask, redact, hash, generalize…), see GET /api/v1/masking/strategies' })
}, { additionalProperties: true, description: 'default masking rule of the field: a strategy and its parameters' })

const fieldProperties = {
  name: FieldNameSchema,
  type: FieldTypeSchema,
  required: Type.Boolean({ default: false, description: 'a record must carry a non-null value' }),
  piType: Type.Union([PiTypeSchema, Type.Null()], { default: null }),
  sensitivity: Type.Optional(Type.Integer({
    minimum: 1, maximum: 4, description: 'sensitivity level 1 (lowest) to 4; defaults by PI type (sensitive PI 4, other PI 3, else 1) and may not be below that'
  })),
  description: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()], { default: null }),
  format: Type.Optional(Type.Union([FormatSchema, Type.Null()], { description: 'defaults by PI type: id_number, phone → mobile, email' })),
  enum: Type.Union([Type.Array(Type.Union([Type.String({ maxLength: 200 }), Type.Number()]), { minItems: 1, maxItems: 1000, uniqueItems: true }), Type.Null()], {
    default: null, description: 'the allowed values (a code table, 代码表)'
  }),
  pattern: Type.Union([Type.String({ maxLength: 500 }), Type.Null()], { default: null, description: 'a regular expression string values must match' }),
  maxLength: Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()], { default: null }),
  minimum: Type.Union([Type.Number(), Type.Null()], { default: null }),
  maximum: Type.Union([Type.Number(), Type.Null()], { default: null }),
  masking: Type.Union([MaskingRuleSchema, Type.Null()], { default: null })
}

export const FieldInputSchema = Type.Object(fieldProperties, { additionalProperties: false })
export type FieldInput = Static<typeof FieldInputSchema>

export const FieldSchema = Type.Object({
  ...fieldProperties,
  required: Type.Boolean(),
  sensitivity: Type.Integer({ minimum: 1, maximum: 4 }),
  format: Type.Union([FormatSchema, Type.Null()])
})

const FieldListSchema = Type.Array(FieldInputSchema, { minItems: 1, maxItems: 500, description: 'the fields (data elements) of a record' })
const KeyListSchema = Type.Array(FieldNameSchema, { minItems: 1, maxItems: 4, uniqueItems: true, description: 'names of the fields that identify a record' })

const ProposalSchema = Type.Object({
  changes: Type.Object({
    grade: Type.Optional(GradeSchema),
    nationalGrade: Type.Optional(NationalGradeSchema),
    shareAttribute: Type.Optional(ShareAttributeSchema),
    openAttribute: Type.Optional(OpenAttributeSchema),
    fields: Type.Optional(Type.Array(FieldSchema)),
    holdsPersonalInfo: Type.Optional(Type.Boolean()),
    sensitivePersonalInfo: Type.Optional(Type.Boolean()),
    childrenPersonalInfo: Type.Optional(Type.Boolean()),
    collection: Type.Optional(Type.Union([CollectionSchema, Type.Null()]))
  }, { description: 'the proposed values; what is not named stays as confirmed' }),
  proposedBy: Type.String(),
  proposedAt: Type.String({ format: 'date-time' }),
  reason: Type.Union([Type.String(), Type.Null()])
}, { description: 'changes of the producer that loosen protection and wait for the office; until confirmed the dataset is served under the terms shown around this' })

export const GradingSchema = Type.Object({
  status: GradingStatusSchema,
  decidedBy: Type.Union([Type.String(), Type.Null()], { description: 'who in the office decided last' }),
  decidedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'the reason of the last decision' }),
  proposal: Type.Union([ProposalSchema, Type.Null()], { description: 'shown to the producer unit and the office only' })
}, { description: 'the office\'s review of the grade, attributes and collection (001 §8(1), §39)' })

const common = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Union([Type.String({ maxLength: 4000 }), Type.Null()]),
  subject: Type.String({
    minLength: 1, maxLength: 200, description: 'what the data is about ("student basic information"): one live dataset per subject (一数一源, R2.6)'
  }),
  personnelBasic: Type.Boolean({ description: 'basic personal information of staff or students: its share requests are reviewed by the office alone (R7.3)' }),
  updateFrequency: FrequencySchema,
  retentionDays: Type.Integer({ minimum: 1, maximum: 36_500, description: 'shortest storage period in days (R5.2): rows older than this are reported for destruction' }),
  personKey: Type.Union([FieldNameSchema, Type.Null()], { description: 'the field naming the person a record is about, for person counts (R9.4)' }),
  holdsPersonalInfo: Type.Boolean({ description: 'holds personal information; also true when any field has a PI type' }),
  sensitivePersonalInfo: Type.Boolean({ description: 'holds sensitive personal information (R9.2); also true when a field has a sensitive PI type' }),
  childrenPersonalInfo: Type.Boolean({ description: 'holds personal information of children under 14 (R9.3)' }),
  sources: Type.Array(DatasetCodeSchema, { maxItems: 50, uniqueItems: true, description: 'datasets this one is derived from: its grade is at least theirs (R6.4)' }),
  restricted: Type.Boolean({ description: 'the field list of an important dataset is shown only to the producer, the office and units with a grant or pending request (R2.8)' })
}

/** Properties a caller may leave out both when registering and when editing. */
const optionalAlways = {
  grade: Type.Optional(GradeSchema),
  nationalGrade: Type.Optional(NationalGradeSchema),
  personnelBasic: Type.Optional(common.personnelBasic),
  personKey: Type.Optional(common.personKey),
  holdsPersonalInfo: Type.Optional(common.holdsPersonalInfo),
  sensitivePersonalInfo: Type.Optional(common.sensitivePersonalInfo),
  childrenPersonalInfo: Type.Optional(common.childrenPersonalInfo),
  sources: Type.Optional(common.sources),
  restricted: Type.Optional(common.restricted),
  collection: Type.Optional(Type.Union([CollectionSchema, Type.Null()], { description: 'how the data is collected (R3.2); an edit replaces it whole' }))
}

export const CreateDatasetSchema = Type.Object({
  code: DatasetCodeSchema,
  name: common.name,
  description: Type.Optional(common.description),
  producerUnit: Type.Optional(Type.With(UnitCodeSchema, { description: 'defaults to the caller\'s unit; a steward may name only its own' })),
  subject: common.subject,
  category: CategorySchema,
  shareAttribute: ShareAttributeSchema,
  openAttribute: OpenAttributeSchema,
  updateFrequency: common.updateFrequency,
  retentionDays: common.retentionDays,
  primaryKey: KeyListSchema,
  ...optionalAlways,
  fields: FieldListSchema
}, {
  additionalProperties: false,
  description: 'grade and national grade default to what the most sensitive field demands; a lower one is refused',
  examples: [{
    code: 'student_basic',
    name: 'Student basic information',
    subject: 'student basic information',
    category: 'student',
    shareAttribute: 'conditional',
    openAttribute: 'none',
    personnelBasic: true,
    updateFrequency: 'daily',
    retentionDays: 3650,
    primaryKey: ['student_id'],
    personKey: 'student_id',
    fields: [
      { name: 'student_id', type: 'string', required: true, piType: 'student_id', description: 'student number (学号)' },
      { name: 'name', type: 'string', required: true, piType: 'name' },
      { name: 'id_number', type: 'string', piType: 'id_number', masking: { strategy: 'mask' } },
      { name: 'college', type: 'string', enum: ['CS', 'MATH', 'LAW'] },
      { name: 'enrolled_on', type: 'date' }
    ]
  }]
})
export type CreateDataset = Static<typeof CreateDatasetSchema>

export const UpdateDatasetSchema = Type.Object({
  name: Type.Optional(common.name),
  description: Type.Optional(common.description),
  subject: Type.Optional(common.subject),
  category: Type.Optional(CategorySchema),
  shareAttribute: Type.Optional(ShareAttributeSchema),
  openAttribute: Type.Optional(OpenAttributeSchema),
  updateFrequency: Type.Optional(common.updateFrequency),
  retentionDays: Type.Optional(common.retentionDays),
  primaryKey: Type.Optional(KeyListSchema),
  ...optionalAlways,
  fields: Type.Optional(FieldListSchema),
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'why: recorded with a change of grade or attributes' }))
}, {
  additionalProperties: false,
  minProperties: 1,
  description: 'Stewards edit their unit\'s datasets. On a published dataset a change that loosens protection (a lower grade, a looser ' +
    'share or open attribute, new or changed personal information, a changed collection record) waits for the office\'s grading ' +
    'review; the rest takes effect at once. `restricted` is the office\'s (security_admin).',
  examples: [{ grade: 'important', shareAttribute: 'conditional', reason: 'holds pay data (001 §52)' }]
})
export type UpdateDataset = Static<typeof UpdateDatasetSchema>

export const DatasetSchema = Type.Object({
  code: DatasetCodeSchema,
  name: common.name,
  description: common.description,
  producerUnit: UnitCodeSchema,
  subject: common.subject,
  category: CategorySchema,
  grade: GradeSchema,
  nationalGrade: NationalGradeSchema,
  gradeVersion: Type.Integer({ description: 'incremented by each change of grade or attributes' }),
  shareAttribute: ShareAttributeSchema,
  openAttribute: OpenAttributeSchema,
  personnelBasic: common.personnelBasic,
  updateFrequency: common.updateFrequency,
  retentionDays: common.retentionDays,
  primaryKey: Type.Array(Type.String()),
  personKey: common.personKey,
  holdsPersonalInfo: common.holdsPersonalInfo,
  sensitivePersonalInfo: common.sensitivePersonalInfo,
  childrenPersonalInfo: common.childrenPersonalInfo,
  sources: Type.Array(Type.String()),
  restricted: common.restricted,
  fieldsHidden: Type.Boolean({ description: 'true when the field list is withheld from this caller (R2.8)' }),
  status: StatusSchema,
  collection: Type.Union([CollectionSchema, Type.Null()]),
  grading: GradingSchema,
  fields: Type.Array(FieldSchema),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  publishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}, { description: 'a catalog entry (数据资源目录条目)' })
export type DatasetView = Static<typeof DatasetSchema>

export const DatasetParamsSchema = Type.Object({ code: DatasetCodeSchema })

export const ListDatasetsQuerySchema = Type.Object({
  ...PaginationQuerySchema,
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'substring of code, name, subject or description' })),
  category: Type.Optional(CategorySchema),
  grade: Type.Optional(GradeSchema),
  shareAttribute: Type.Optional(ShareAttributeSchema),
  openAttribute: Type.Optional(OpenAttributeSchema),
  producer: Type.Optional(UnitCodeSchema),
  status: Type.Optional(StatusSchema)
}, { additionalProperties: false })
export type ListDatasetsQuery = Static<typeof ListDatasetsQuerySchema>

export const DatasetPageSchema = pageOf(DatasetSchema, 'a page of datasets, ordered by code')

export const GradeHistorySchema = pageOf(Type.Object({
  version: Type.Integer(),
  grade: GradeSchema,
  nationalGrade: NationalGradeSchema,
  shareAttribute: ShareAttributeSchema,
  openAttribute: OpenAttributeSchema,
  reason: Type.String(),
  changedBy: Type.String(),
  changedAt: Type.String({ format: 'date-time' })
}), 'versions of a dataset\'s grade and attributes, newest first')

/** A vocabulary schema's own description, to keep it where a field says more of its use. */
const describe = (schema: object): string => (schema as { description?: string }).description ?? ''

export const GradingReviewSchema = Type.Object({
  decision: Type.Enum(['confirm', 'reject'], { description: 'confirm the proposed terms (with the office\'s tightening) or reject them' }),
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'why; required to reject' })),
  grade: Type.Optional(Type.With(GradeSchema, { description: `confirm with this grade instead: never below the proposed one. ${describe(GradeSchema)}` })),
  shareAttribute: Type.Optional(Type.With(ShareAttributeSchema, { description: `confirm with this share attribute: never looser than proposed. ${describe(ShareAttributeSchema)}` })),
  openAttribute: Type.Optional(Type.With(OpenAttributeSchema, { description: `confirm with this open attribute: never looser than proposed. ${describe(OpenAttributeSchema)}` }))
}, {
  additionalProperties: false,
  examples: [
    { decision: 'confirm', grade: 'important', reason: 'holds ID numbers of all students (001 §52)' },
    { decision: 'reject', reason: 'ID numbers are not needed for this duty; drop the field' }
  ]
})
export type GradingReview = Static<typeof GradingReviewSchema>
