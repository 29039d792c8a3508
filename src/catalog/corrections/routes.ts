import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { loadMaskingKey } from '../../masking/index.js'
import { keysetPage, SEQ_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { runEvery } from '../../platform/timers.js'
import { reportOverdueCorrections } from './overdue.js'
import { createCorrectionRepository } from './repository.js'
import {
  CorrectionPageSchema, CorrectionParamsSchema, CorrectionSchema, CorrectionsParamsSchema, DecisionSchema, ListCorrectionsQuerySchema,
  ReportCorrectionSchema
} from './schemas.js'
import { correctionViewer, seesAll } from './view.js'
import { createCorrectionWorkflow } from './workflow.js'

const tags = ['corrections']
const readers = { roles: ['consumer', 'steward', 'security_admin', 'auditor'] } as const

/** Data-error correction (001 §33, §64(3)): reported by the units that use a dataset, decided and made by its producer. */
export const correctionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const workflow = createCorrectionWorkflow(app.db, app.encryption, app.config, app.ports.sharing)
  const corrections = createCorrectionRepository(app.db)
  const ctx = { db: app.db, encryption: app.encryption, key: loadMaskingKey(app.config, { generate: true }) }

  app.post('/datasets/:code/corrections', {
    config: { access: { roles: ['consumer', 'steward', 'security_admin'] } },
    schema: {
      tags,
      summary: 'Report an error in a record',
      description: 'A unit holding an active grant on the dataset (its consumers and stewards), or the data-management office on a ' +
        'person\'s behalf, reports that one field of one record is wrong, optionally with the value it believes right ' +
        '(checked against the field\'s rules; sealed at rest where the field is encrypted; never logged). The producer unit ' +
        'has CORRECTION_DEADLINE_DAYS working days on the campus calendar to decide and correct it. A unit without a grant ' +
        'is 403 (404 for a draft it cannot see); the producer unit corrects its records through ingest (403). An unknown ' +
        'field, a key with no record, or a proposed value breaking the field\'s rules is a 400 naming `field`, `recordKey` or ' +
        '`proposedValue`.',
      operationId: 'reportCorrection',
      params: CorrectionsParamsSchema,
      body: ReportCorrectionSchema,
      response: { 201: CorrectionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const principal = request.principal!
    const { row, dataset } = await workflow.report(principal, request.params.code, request.body, String(request.id))
    return reply.code(201).send(await correctionViewer(dataset, principal, ctx)(row))
  })

  app.get('/datasets/:code/corrections', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List the corrections of a dataset',
      description: 'Newest first. A unit sees the corrections it reported; the producer unit\'s stewards, the office and auditors ' +
        'see all. `overdue=true`: those past their deadline and still open or accepted. Proposed values are shown to the ' +
        'reporting unit and the producer\'s stewards, and to others under the dataset\'s display masking.',
      operationId: 'listCorrections',
      params: CorrectionsParamsSchema,
      querystring: ListCorrectionsQuerySchema,
      response: { 200: CorrectionPageSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const principal = request.principal!
    const dataset = await workflow.visible(request.params.code, principal)
    const { status, overdue } = request.query
    const now = new Date()
    const { page, nextCursor } = await keysetPage(request.query, {
      key: SEQ_KEY,
      as: 'beforeSeq',
      fetch: (p) => corrections.list({
        dataset: dataset.code,
        ...(seesAll(principal, dataset) ? {} : { reporterUnit: principal.unit }),
        ...(status !== undefined ? { status } : {}),
        ...(overdue !== undefined ? { overdue } : {}),
        now,
        ...p
      }),
      keyOf: (c) => [c.seq]
    })
    const view = correctionViewer(dataset, principal, ctx, now)
    return { data: await Promise.all(page.map(view)), nextCursor }
  })

  app.get('/datasets/:code/corrections/:id', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get a correction',
      description: 'One correction: to its reporting unit, the producer unit\'s stewards, the office and auditors; 404 to anyone else.',
      operationId: 'getCorrection',
      params: CorrectionParamsSchema,
      response: { 200: CorrectionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const principal = request.principal!
    const { row, dataset } = await workflow.get(principal, request.params.code, request.params.id)
    return await correctionViewer(dataset, principal, ctx)(row)
  })

  app.post('/datasets/:code/corrections/:id/decision', {
    config: { access: { roles: ['steward'] } },
    schema: {
      tags,
      summary: 'Decide a correction',
      description: 'A steward of the producer unit accepts the reported error (the record is then corrected through ingest: ' +
        '`PUT /api/v1/datasets/{code}/records?correction={id}` with a batch that writes the record, which marks the correction ' +
        '`corrected` and names the batch in `resolvedByBatch`) or rejects it, with a reason either way. A decided correction is ' +
        '409; stewards of the reporting unit are 403; other units 404.',
      operationId: 'decideCorrection',
      params: CorrectionParamsSchema,
      body: DecisionSchema,
      response: { 200: CorrectionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const principal = request.principal!
    const { row, dataset } = await workflow.decide(principal, request.params.code, request.params.id, request.body, String(request.id))
    return await correctionViewer(dataset, principal, ctx)(row)
  })

  // the deadline sweep: each correction past its deadline is reported once (several instances may run it)
  runEvery(app, app.config.REVIEW_SWEEP_SECONDS, 'looking for overdue corrections', async () => {
    const ids = await reportOverdueCorrections(app.db)
    if (ids.length > 0) app.log.warn({ corrections: ids }, 'data-error corrections overdue')
  })
}
