import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { keysetPage, NUMBER_KEY, TEXT_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, PaginationQuerySchema, problems } from '../../platform/schemas.js'
import { draftScope, fieldsHidden, isProducer } from './access.js'
import { isOffice } from '../../platform/auth/roles.js'
import { gradingReviewRoutes } from './review-routes.js'
import { createDatasetRepository, toDatasetView } from './repository.js'
import {
  CreateDatasetSchema, DatasetPageSchema, DatasetParamsSchema, DatasetSchema, GradeHistorySchema, ListDatasetsQuerySchema, UpdateDatasetSchema
} from './schemas.js'
import { createDatasetService } from './service.js'

const tags = ['datasets']
const editors = { roles: ['steward', 'security_admin'] } as const

/** A proposal waiting for the office is the producer's and the office's business. */
const seesProposal = (principal: Principal, row: Dataset) => isProducer(principal, row) || isOffice(principal)

/**
 * The graded catalog: stewards register and edit their unit's datasets, the office (security_admin)
 * grades any; every authenticated caller searches and reads it, within metadata access control.
 */
export const datasetRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const datasets = createDatasetRepository(app.db)
  const service = createDatasetService(app.db)
  const hasInterest = app.ports.sharing.hasInterest
  await app.register(gradingReviewRoutes)

  app.post('/datasets', {
    config: { access: editors },
    schema: {
      tags,
      summary: 'Register a dataset',
      description: 'Registers a catalog entry as a draft, with its fields. A steward registers its own unit\'s; the office any unit\'s. ' +
        'The grade defaults to what the most sensitive field (or source dataset) demands and may not be lower (就高从严); ' +
        'a subject already held by a live dataset is a 409 naming it (一数一源); important data and sensitive or children\'s ' +
        'personal information are never unconditional to share or open.',
      operationId: 'createDataset',
      body: CreateDatasetSchema,
      response: { 201: DatasetSchema, ...problems(...AUTHENTICATED_PROBLEMS, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const row = await service.create(request.body, request.principal!, String(request.id))
    return reply.code(201).send(toDatasetView(row))
  })

  app.get('/datasets', {
    config: { access: 'authenticated' },
    schema: {
      tags,
      summary: 'Search the catalog',
      description: 'Datasets ordered by code, cursor-paginated. `q` matches code, name, subject or description. ' +
        'Drafts are listed to their producer unit and the office only; restricted field lists are withheld (R2.8).',
      operationId: 'listDatasets',
      querystring: ListDatasetsQuerySchema,
      response: { 200: DatasetPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query
    const { page, nextCursor } = await keysetPage({ limit, cursor }, {
      key: TEXT_KEY, as: 'after', fetch: (p) => datasets.list({ ...filter, ...p, draftsOf: draftScope(request.principal!) }), keyOf: (d) => [d.code]
    })
    const data = await Promise.all(page.map(async (row) => toDatasetView(row, {
      fieldsHidden: await fieldsHidden(request.principal!, row, hasInterest), proposal: seesProposal(request.principal!, row)
    })))
    return { data, nextCursor }
  })

  app.get('/datasets/:code', {
    config: { access: 'authenticated' },
    schema: {
      tags,
      summary: 'Get a dataset',
      description: 'The catalog entry with its fields; a restricted important dataset shows its fields only to the producer, the office and units with a stake in it.',
      operationId: 'getDataset',
      params: DatasetParamsSchema,
      response: { 200: DatasetSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await service.visible(request.params.code, request.principal!)
    return toDatasetView(row, { fieldsHidden: await fieldsHidden(request.principal!, row, hasInterest), proposal: seesProposal(request.principal!, row) })
  })

  app.patch('/datasets/:code', {
    config: { access: editors },
    schema: {
      tags,
      summary: 'Update a dataset',
      description: 'The producer unit\'s steward edits its dataset; the office (security_admin) edits any, at once. On a published ' +
        'dataset a steward\'s change that loosens protection (a lower grade or national grade, a looser share or open attribute, a ' +
        'new personal-information field or one whose PI type, masking or sensitivity drops, a PI flag, the collection record) ' +
        'waits in `grading.proposal` for the office\'s grading review, while the dataset is served under its confirmed terms; ' +
        'the rest of the change, tightening or neutral, takes effect at once. Editing a confirmed draft so that it loosens, or a ' +
        'rejected draft at all, makes its grading `proposed` again. A change of grade or attributes makes a new version in the ' +
        'grade history, with its reason. Adding a more sensitive field raises the grade by itself, and derived datasets follow.',
      operationId: 'updateDataset',
      params: DatasetParamsSchema,
      body: UpdateDatasetSchema,
      response: { 200: DatasetSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    return toDatasetView(await service.update(request.params.code, request.body, request.principal!, String(request.id)))
  })

  app.post('/datasets/:code/publish', {
    config: { access: editors },
    schema: {
      tags,
      summary: 'Publish a dataset',
      description: 'Moves a draft into the published catalog, where other units find it and may request it. Only once the office ' +
        'has confirmed its grading: before, a 409 `CATALOG_GRADING_UNCONFIRMED`.',
      operationId: 'publishDataset',
      params: DatasetParamsSchema,
      response: { 200: DatasetSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409) }
    }
  }, async (request) => {
    return toDatasetView(await service.publish(request.params.code, request.principal!, String(request.id)))
  })

  app.get('/datasets/:code/grades', {
    config: { access: 'authenticated' },
    schema: {
      tags,
      summary: 'Grade history of a dataset',
      description: 'Every version of the grade, national grade, share and open attributes, with who changed it and why, newest first.',
      operationId: 'listDatasetGrades',
      params: DatasetParamsSchema,
      querystring: Type.Object(PaginationQuerySchema, { additionalProperties: false }),
      response: { 200: GradeHistorySchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await service.visible(request.params.code, request.principal!)
    const { page, nextCursor } = await keysetPage(request.query, {
      key: NUMBER_KEY, as: 'before', fetch: (p) => datasets.gradeHistory(row.code, p), keyOf: (h) => [h.version]
    })
    return {
      data: page.map((h) => ({
        version: h.version,
        grade: h.grade,
        nationalGrade: h.national_grade,
        shareAttribute: h.share_attribute,
        openAttribute: h.open_attribute,
        reason: h.reason,
        changedBy: h.changed_by,
        changedAt: h.changed_at.toISOString()
      })),
      nextCursor
    }
  })
}
