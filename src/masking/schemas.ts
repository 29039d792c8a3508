import { DatasetCodeSchema } from '../platform/codes.js'
import { Type, type Static } from 'typebox'

import { pageOf, PaginationQuerySchema } from '../platform/schemas.js'
import { MASKING_PI_TYPES } from './pi-formats.js'
import { PROFILES } from './profiles.js'
import { STRATEGY_NAMES } from './strategies.js'

/** Rows per call of apply, detect and anonymity; more is a 413. */
export const MAX_ROWS = 10_000
/** Body limit of those routes: 10,000 realistic rows fit with room to spare. */
export const MASKING_BODY_LIMIT_BYTES = 32 * 1024 * 1024

const FieldName = Type.String({ minLength: 1, maxLength: 128 })

export const RuleSchema = Type.Object({
  strategy: Type.String({ maxLength: 32, description: `one of ${STRATEGY_NAMES.join(', ')}` }),
  piType: Type.Optional(Type.String({ maxLength: 32, description: 'the PI type of the value: picks the default format (mask) or the kind of fake (surrogate)' }))
}, {
  additionalProperties: true,
  description: 'A masking rule: a strategy and its parameters (see GET /api/v1/masking/strategies). Unknown strategies and parameters are 400s naming the rule.',
  examples: [{ strategy: 'mask', piType: 'phone' }, { strategy: 'mask', keepFirst: 1, keepLast: 1, char: '#' }, { strategy: 'hash', algorithm: 'sm3', length: 16 }]
})

export const RulesSchema = Type.Record(Type.String({ maxLength: 128 }), RuleSchema, { description: 'a rule per field name' })

const RowSchema = Type.Object({}, { additionalProperties: true, description: 'one record: field name → value' })
const RowsSchema = Type.Array(RowSchema, { description: `the rows (at most ${MAX_ROWS}; more is a 413)` })

export const ProfileSchema = Type.Enum([...PROFILES], {
  description: 'scenario profile: display (on screen), internal_analysis (the university\'s statistics, R6.2), third_party (R7.6)'
})

export const ApplyBodySchema = Type.Object({
  rows: RowsSchema,
  rules: Type.Optional(RulesSchema),
  dataset: Type.Optional(DatasetCodeSchema),
  profile: Type.Optional(ProfileSchema),
  scope: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'keys hash, tokenize, surrogate and noise within the caller\'s unit: equal scopes give equal outputs' }))
}, {
  additionalProperties: false,
  description: 'Rows and either `rules` or a `dataset` whose policy applies in `profile` (default display).',
  examples: [
    { rows: [{ name: '张三', phone: '13812345678', college: 'CS' }], rules: { name: { strategy: 'mask', piType: 'name' }, phone: { strategy: 'mask', piType: 'phone' } } },
    { rows: [{ student_id: '2026000001', name: '欧阳娜娜', id_number: '11010520100307002X' }], dataset: 'student_basic', profile: 'third_party' }
  ]
})
export type ApplyBody = Static<typeof ApplyBodySchema>

export const ApplyResultSchema = Type.Object({
  rows: RowsSchema,
  masked: Type.Array(Type.String(), { description: 'fields whose values were changed or dropped' }),
  profile: Type.Union([ProfileSchema, Type.Null()], { description: 'the profile applied (dataset mode)' }),
  policyVersion: Type.Union([Type.Integer(), Type.Null()], { description: 'version of the dataset\'s policy applied; 0 for catalog defaults only' })
}, {
  examples: [{ rows: [{ name: '张*', phone: '138****5678', college: 'CS' }], masked: ['name', 'phone'], profile: null, policyVersion: null }]
})

export const DetectBodySchema = Type.Object({ rows: RowsSchema }, {
  additionalProperties: false,
  examples: [{ rows: [{ xm: '王小明', sfz: '11010520100307002X', sj: '13812345678' }] }]
})

const FieldGuessSchema = Type.Object({
  piType: Type.Union([Type.String(), Type.Null()], { description: 'the PI type the values most likely hold; null below the bar' }),
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  matches: Type.Integer({ description: 'values that match the type (validated: check digits, carrier prefixes, Luhn…)' }),
  values: Type.Integer({ description: 'non-empty values seen' }),
  sensitive: Type.Boolean({ description: 'sensitive personal information (R9.2)' }),
  proposedRule: Type.Union([RuleSchema, Type.Null()], { description: 'the display default rule for the type' })
})

export const DetectResultSchema = Type.Object({
  fields: Type.Record(Type.String(), FieldGuessSchema),
  children: Type.Object({
    count: Type.Integer({ description: 'rows about a child under 14 (from ID-number or birth dates), R9.3' }),
    rows: Type.Array(Type.Integer(), { description: 'their indexes (the first 1000)' })
  })
}, {
  examples: [{
    fields: { sfz: { piType: 'id_number', confidence: 1, matches: 1, values: 1, sensitive: false, proposedRule: { strategy: 'mask', piType: 'id_number' } } },
    children: { count: 1, rows: [0] }
  }]
})

export const AnonymityBodySchema = Type.Object({
  rows: RowsSchema,
  quasiIdentifiers: Type.Array(FieldName, { minItems: 1, maxItems: 10, uniqueItems: true, description: 'fields that together may single a person out' }),
  k: Type.Integer({ minimum: 2, maximum: 10000, default: 5, description: 'the k to reach' }),
  sensitive: Type.Optional(FieldName),
  smallest: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'how many of the smallest classes to list' })
}, {
  additionalProperties: false,
  examples: [{ rows: [{ age: 19, zip: '300072', gender: '女', diagnosis: 'flu' }], quasiIdentifiers: ['age', 'zip', 'gender'], k: 5, sensitive: 'diagnosis' }]
})

export const AnonymityResultSchema = Type.Object({
  rows: Type.Integer(),
  classes: Type.Integer({ description: 'equivalence classes over the quasi-identifiers' }),
  k: Type.Integer({ description: 'size of the smallest class: the row set is k-anonymous for this k' }),
  targetK: Type.Integer(),
  meetsK: Type.Boolean(),
  rowsBelowK: Type.Integer({ description: 'rows in classes smaller than the target' }),
  smallestClasses: Type.Array(Type.Object({ size: Type.Integer(), values: Type.Object({}, { additionalProperties: true }) })),
  lDiversity: Type.Union([Type.Object({ field: Type.String(), l: Type.Integer({ description: 'fewest distinct sensitive values in a class' }) }), Type.Null()]),
  suggestion: Type.Union([Type.Object({
    rules: RulesSchema,
    k: Type.Integer({ description: 'the k these rules reach' }),
    rowsToSuppress: Type.Integer({ description: 'rows still in classes below the target, to drop' })
  }), Type.Null()], { description: 'masking rules (for /masking/apply or a policy) that reach the target; null when it is met' })
})

const StrategySchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  reversible: Type.Boolean(),
  deterministic: Type.Boolean(),
  params: Type.Object({}, { additionalProperties: true, description: 'parameter name → JSON Schema' })
})

export const StrategiesSchema = Type.Object({
  strategies: Type.Array(StrategySchema),
  piTypes: Type.Array(Type.String(), { description: 'PI types a rule may name' }),
  profiles: Type.Array(Type.String())
}, { examples: [{ strategies: [{ name: 'mask', description: '…', reversible: false, deterministic: true, params: { keepFirst: { type: 'integer' } } }], piTypes: [...MASKING_PI_TYPES], profiles: [...PROFILES] }] })

const ProfilesRulesSchema = Type.Object({
  display: Type.Optional(RulesSchema),
  internal_analysis: Type.Optional(RulesSchema),
  third_party: Type.Optional(RulesSchema)
}, { additionalProperties: false, description: 'per profile, a rule per field; fields left out take their defaults' })

const EffectiveSchema = Type.Record(Type.String(), Type.Object({
  rule: RuleSchema,
  source: Type.Enum(['policy', 'catalog', 'default', 'fail_closed'], { description: 'where the rule comes from' })
}))

export const PolicySchema = Type.Object({
  dataset: Type.String(),
  version: Type.Integer({ description: 'policy version; 0 while only defaults apply' }),
  profiles: ProfilesRulesSchema,
  effective: Type.Object({ display: EffectiveSchema, internal_analysis: EffectiveSchema, third_party: EffectiveSchema }, {
    description: 'the rule every field gets in each profile, and where it comes from'
  }),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}, {
  examples: [{
    dataset: 'student_basic',
    version: 2,
    profiles: { third_party: { name: { strategy: 'redact' } } },
    effective: {
      display: { name: { rule: { strategy: 'mask', piType: 'name' }, source: 'default' } },
      internal_analysis: { name: { rule: { strategy: 'redact' }, source: 'fail_closed' } },
      third_party: { name: { rule: { strategy: 'redact' }, source: 'policy' } }
    },
    updatedBy: 'office-admin',
    updatedAt: '2026-11-24T08:00:00.000Z'
  }]
})

export const PutPolicySchema = Type.Object({
  profiles: ProfilesRulesSchema,
  reason: Type.String({ minLength: 1, maxLength: 500, description: 'why the policy changes, kept in its history' }),
  expectedVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, description: 'the version this change is based on: 409 if another change came first' }))
}, {
  additionalProperties: false,
  examples: [{ profiles: { third_party: { name: { strategy: 'redact' }, id_number: { strategy: 'hash', algorithm: 'sm3' } } }, reason: 'annual review', expectedVersion: 1 }]
})
export type PutPolicy = Static<typeof PutPolicySchema>

export const PolicyParamsSchema = Type.Object({ dataset: DatasetCodeSchema })

export const PolicyVersionsQuerySchema = Type.Object(PaginationQuerySchema, { additionalProperties: false })
export const PolicyVersionPageSchema = pageOf(Type.Object({
  version: Type.Integer(),
  profiles: ProfilesRulesSchema,
  reason: Type.String(),
  changedBy: Type.String(),
  changedAt: Type.String({ format: 'date-time' })
}), 'versions of a masking policy, newest first')

export const DetokenizeBodySchema = Type.Object({
  scope: Type.String({ minLength: 1, maxLength: 300, description: 'the scope the tokens were made in: `grant:<id>`, or `apply:<unit>:<scope>`' }),
  tokens: Type.Array(Type.String({ maxLength: 4096 }), { minItems: 1, maxItems: 1000 })
}, { additionalProperties: false, examples: [{ scope: 'apply:CS:', tokens: ['tka_…'] }] })

export const DetokenizeResultSchema = Type.Object({
  values: Type.Array(Type.Union([Type.String(), Type.Null()]), { description: 'the value of each token, null for one not made with this key and scope' })
})
