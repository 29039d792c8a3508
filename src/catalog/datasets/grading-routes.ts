import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import type { GradingLevel } from '../../db/database.js'
import { FieldError } from '../../platform/errors.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { createDatasetRepository } from './repository.js'
import { GradeSchema, NationalGradeSchema } from './schemas.js'
import { createDatasetService } from './service.js'
import { gradeRank, nationalRank } from '../../platform/vocabulary.js'

const LevelSchema = Type.Object({
  sensitivity: Type.Integer({ minimum: 1, maximum: 4, description: 'field sensitivity level' }),
  label: Type.String({ minLength: 1, maxLength: 100, description: 'the office\'s name for the level' }),
  minimumGrade: GradeSchema,
  nationalGrade: NationalGradeSchema
}, { additionalProperties: false })

const PolicySchema = Type.Object({
  levels: Type.Array(LevelSchema, { minItems: 4, maxItems: 4, description: 'one entry per sensitivity level 1–4' }),
  updatedBy: Type.String(),
  updatedAt: Type.String({ format: 'date-time' })
}, {
  description: 'The grading policy: for each field sensitivity level, the lowest grade (university scale and GB/T 43697 scale) a dataset holding such a field may have',
  examples: [{
    levels: [
      { sensitivity: 1, label: 'public', minimumGrade: 'external_public', nationalGrade: 'general' },
      { sensitivity: 2, label: 'internal', minimumGrade: 'internal_public', nationalGrade: 'general' },
      { sensitivity: 3, label: 'sensitive', minimumGrade: 'ordinary', nationalGrade: 'general' },
      { sensitivity: 4, label: 'highly sensitive', minimumGrade: 'important', nationalGrade: 'important' }
    ],
    updatedBy: 'office-admin',
    updatedAt: '2026-09-01T08:00:00.000Z'
  }]
})

const PutPolicySchema = Type.Object({
  levels: Type.Array(LevelSchema, { minItems: 4, maxItems: 4 }),
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 }))
}, { additionalProperties: false })
type PutPolicy = Static<typeof PutPolicySchema>

const PolicyChangeSchema = Type.Object({
  ...PolicySchema.properties,
  regraded: Type.Array(Type.String(), { description: 'datasets raised to meet the new policy' })
})

function toPolicy (rows: GradingLevel[]) {
  const latest = rows.reduce((a, b) => (a.updated_at > b.updated_at ? a : b))
  return {
    levels: rows.map((r) => ({ sensitivity: r.sensitivity, label: r.label, minimumGrade: r.minimum_grade, nationalGrade: r.national_grade })),
    updatedBy: latest.updated_by,
    updatedAt: latest.updated_at.toISOString()
  }
}

/** One level per sensitivity, and a more sensitive level never demands less. */
function checkLevels (levels: PutPolicy['levels']) {
  const sorted = [...levels].sort((a, b) => a.sensitivity - b.sensitivity)
  sorted.forEach((l, i) => {
    if (l.sensitivity !== i + 1) throw new FieldError('levels', 'must give each sensitivity level 1, 2, 3 and 4 exactly once')
  })
  for (let i = 1; i < sorted.length; i++) {
    const at = levels.indexOf(sorted[i]!)
    if (gradeRank(sorted[i]!.minimumGrade) < gradeRank(sorted[i - 1]!.minimumGrade)) {
      throw new FieldError(`levels.${at}.minimumGrade`, `sensitivity ${i + 1} may not demand less than sensitivity ${i}`)
    }
    if (nationalRank(sorted[i]!.nationalGrade) < nationalRank(sorted[i - 1]!.nationalGrade)) {
      throw new FieldError(`levels.${at}.nationalGrade`, `sensitivity ${i + 1} may not demand less than sensitivity ${i}`)
    }
  }
  return sorted
}

/** The office's grading policy: sensitivity level → minimum grade. */
export const gradingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const datasets = createDatasetRepository(app.db)
  const service = createDatasetService(app.db)
  const tags = ['datasets']

  app.get('/grading-policy', {
    config: { access: 'authenticated' },
    schema: {
      tags,
      summary: 'Get the grading policy',
      description: 'How field sensitivity levels map to dataset grades, on the university\'s four grades and GB/T 43697\'s core/important/general.',
      operationId: 'getGradingPolicy',
      response: { 200: PolicySchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async () => toPolicy(await datasets.gradingLevels()))

  app.put('/grading-policy', {
    config: { access: { roles: ['security_admin'] } },
    schema: {
      tags,
      summary: 'Set the grading policy',
      description: 'Only the office (security_admin). Every live dataset below its new floor is raised in the same transaction ' +
        '(a new grade version each, and their derived datasets follow); if a raise would break a dataset\'s share or open ' +
        'attribute, nothing changes and the answer is a 409 naming them.',
      operationId: 'setGradingPolicy',
      body: PutPolicySchema,
      response: { 200: PolicyChangeSchema, ...problems(...AUTHENTICATED_PROBLEMS, 409, 413, 415) }
    }
  }, async (request) => {
    const levels = checkLevels(request.body.levels)
    const actor = request.principal!
    const changed = await service.setGradingPolicy(levels, request.body.reason ?? null, actor, String(request.id))
    return { ...toPolicy(changed.levels), regraded: changed.regraded }
  })
}
