import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { recordOrRefuse } from '../../audit/index.js'
import { restsOnConsent } from '../../authorization/index.js'
import { chooseGrant } from '../../authorization/index.js'
import type { MaskingKey } from '../../masking/index.js'
import type { AeadSuite } from '../../platform/aead.js'
import { FieldError } from '../../platform/errors.js'
import { keysetPage, SEQ_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import type { DataCache } from '../data/cache.js'
import { consentDetails, consentLapsedSince, exportConsentExcluded } from '../data/consent.js'
import { QuotaExceededError } from '../data/errors.js'
import type { QuotaCounter } from '../data/quota.js'
import type { DataReader } from '../data/reader.js'
import { detailsOf, requestState, type DataRequestState } from '../data/routes.js'
import { exportFileKey, WATERMARK_KEY_REF, watermarkCheck, watermarkKey } from '../watermarks/keys.js'
import { ExportBusyError, ExportGoneError, ExportNotFoundError, ExportNotReadyError } from './errors.js'
import { fileExists, readSealed } from './file-store.js'
import type { ExportRepository } from './repository.js'
import type { ExportRunner } from './runner.js'
import { CreateExportBodySchema, ExportDatasetParamsSchema, ExportPageSchema, ExportParamsSchema, ExportSchema, ListExportsQuerySchema, type CreateExportBody } from './schemas.js'
import { toExportView } from './views.js'

const tags = ['data access']
/** Whoever holds a grant with the export mode. */
const access = { roles: ['consumer', 'steward'] } as const

export interface ExportRouteOptions {
  reader: DataReader
  cache: DataCache
  quota: QuotaCounter
  key: MaskingKey
  suite: AeadSuite
  repo: ExportRepository
  runner: ExportRunner
  dir: string
  maxRows: number
  concurrency: number
}

/** `where` of the body in the query-string form the reader parses: `where[field][op]`. */
function whereQuery (where: CreateExportBody['where']): Record<string, unknown> {
  const query: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(where ?? {})) {
    if (Array.isArray(value)) {
      query[`where[${field}][in]`] = value.map(String)
    } else if (typeof value === 'object' && value !== null) {
      const [op, v] = Object.entries(value)[0]!
      query[`where[${field}][${op}]`] = Array.isArray(v) ? v.map(String) : String(v)
    } else {
      query[`where[${field}]`] = String(value)
    }
  }
  return query
}

/** Exports of granted data as watermarked CSV files, and their download (R6.1, R7.9, R7.10). */
export const exportRoutes: FastifyPluginAsyncTypebox<ExportRouteOptions> = async (app, options) => {
  const { reader, cache, quota, key, suite, repo, runner, dir } = options

  app.post('/data/:dataset/exports', {
    config: { access, auditsItself: true },
    schema: {
      tags,
      summary: 'Export a dataset under a grant',
      description: 'Starts an export of the rows the caller\'s grant allows (its fields and row filter, with the caller\'s `fields` and `where`, as for reads) ' +
        'into a CSV file, and answers 202 with the export; poll `GET /api/v1/exports/{id}` until it is `done`, then download the file. The grant must have the ' +
        '`export` access mode (403 otherwise). The rows are counted first and charged to the grant\'s daily row quota (429 when not enough is left, and nothing ' +
        'starts); at most EXPORT_MAX_ROWS rows; a unit may have EXPORT_CONCURRENCY exports queued or running at once (429). Every file is watermarked: ' +
        'values are masked with keys of the grant, text cells carry invisible marks keyed to the export, and a few synthetic decoy rows are mixed in, so that a ' +
        'leaked copy can be traced to its export, grant, unit and person (`POST /api/v1/watermarks/trace`). The request is recorded in the audit log (X-Audit-Event). ' +
        'Under a grant resting on consent only the rows of persons holding a valid consent for the dataset and the grant\'s purpose are counted and written; ' +
        'the event says how many consent left out (`consentExcluded`).',
      operationId: 'createExport',
      params: ExportDatasetParamsSchema,
      body: CreateExportBodySchema,
      response: { 202: ExportSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 413, 415) }
    }
  }, async (request, reply) => {
    const state: DataRequestState = { operation: 'data.export.create' }
    requestState.set(request, state)
    const principal = request.principal!
    const { dataset } = request.params
    const body = request.body
    const plan = await reader.plan(principal, dataset, 'export', { grant: body.grant, fields: body.fields?.join(','), query: whereQuery(body.where) })
    state.plan = plan
    const total = await repo.count(plan)
    const consentExcluded = await exportConsentExcluded(app.db, plan, total)
    if (total > options.maxRows) throw new FieldError('where', `the export would hold ${total} rows; at most ${options.maxRows}: narrow it with filters`)
    const allowed = await quota.reserve(plan.grant.id, plan.day, plan.grant.daily_row_quota, total)
    if (allowed < total) {
      quota.release(plan.grant.id, plan.day, allowed)
      throw new QuotaExceededError(`the export holds ${total} rows, more than is left of the daily row quota of grant ${plan.grant.id} ` +
        `(${plan.grant.daily_row_quota} rows) for ${plan.day}; narrow it, or export after midnight campus time`)
    }
    // The charge is written to grant_usage before the export exists. Should this process die with
    // it unwritten, the process that marks the export failed would give back rows never charged,
    // and the grant's count for the day would go below zero by the export's size.
    try {
      await quota.flush()
    } catch (err) {
      quota.release(plan.grant.id, plan.day, total)
      throw err
    }
    const id = randomUUID()
    let row
    try {
      row = await repo.create({
        id,
        grant_id: plan.grant.id,
        dataset_code: dataset,
        consumer_unit: principal.unit,
        sub: principal.sub,
        client: principal.client ?? null,
        fields: plan.fields,
        filters: JSON.stringify(plan.where.filter),
        filter_summary: JSON.stringify(plan.where.summary),
        rows_total: total,
        quota_day: plan.day,
        file_suite: suite,
        watermark_key_ref: WATERMARK_KEY_REF,
        watermark_check: watermarkCheck(watermarkKey(key, id))
      }, options.concurrency)
    } catch (err) {
      quota.release(plan.grant.id, plan.day, total)
      throw err
    }
    if (!row) {
      quota.release(plan.grant.id, plan.day, total)
      throw new ExportBusyError(`your unit has ${options.concurrency} exports queued or running; wait for one to finish`)
    }
    const seq = await recordOrRefuse(request, async () => await app.audit.appendFor(request, {
      service: 'gateway',
      action: 'export',
      operation: state.operation,
      objectType: 'export',
      objectId: row.id,
      dataset,
      fields: plan.fields,
      rows: 0,
      grantId: plan.grant.id,
      details: detailsOf(plan, { export: row.id, rowsTotal: total, masked: plan.masked, ...consentDetails(plan, consentExcluded) })
    }), {
      log: 'audit: an export could not be recorded; it is not started',
      detail: 'the audit log cannot be written right now, so no export is started; retry shortly',
      undo: async () => {
        quota.release(plan.grant.id, plan.day, total)
        await repo.fail(row.id, 'not started: the audit log could not be written').catch(() => {})
      }
    })
    runner.start(row, plan)
    reply.code(202).header('x-audit-event', seq).header('location', `/api/v1/exports/${row.id}`)
    return toExportView(row)
  })

  app.get('/exports', {
    config: { access },
    schema: {
      tags,
      summary: 'List exports',
      description: 'The exports of the caller\'s unit (of a grant to one person, only that person\'s), newest first.',
      operationId: 'listExports',
      querystring: ListExportsQuerySchema,
      response: { 200: ExportPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { dataset, status } = request.query
    const { page, nextCursor } = await keysetPage(request.query, {
      key: SEQ_KEY, as: 'beforeSeq', fetch: (p) => repo.list(request.principal!, { ...p, dataset, status }), keyOf: (r) => [r.seq]
    })
    return { data: page.map(toExportView), nextCursor }
  })

  app.get('/exports/:id', {
    config: { access },
    schema: {
      tags,
      summary: 'Get an export',
      description: 'An export of the caller\'s unit, with its progress. Other units\' exports are 404.',
      operationId: 'getExport',
      params: ExportParamsSchema,
      response: { 200: ExportSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await repo.getVisible(request.principal!, request.params.id)
    if (!row) throw new ExportNotFoundError(request.params.id)
    return toExportView(row)
  })

  app.get('/exports/:id/file', {
    config: { access, auditsItself: true },
    schema: {
      tags,
      summary: 'Download an export',
      description: 'The CSV file of a finished export (RFC 4180, UTF-8, a header line), with its SHA-256 in Repr-Digest. The grant is checked again: ' +
        'revoked, suspended or expired, the file is refused (403). The download is recorded in the audit log (X-Audit-Event: rows, digest) before ' +
        'any byte is sent; if it cannot be recorded the answer is 503 and no data. 409 while the export is not done, 410 once it expired, and under a grant ' +
        'resting on consent 410 once a consent of its dataset and purpose was withdrawn or lapsed since it was written (export again).',
      operationId: 'downloadExport',
      params: ExportParamsSchema,
      produces: ['text/csv'],
      response: {
        200: Type.String({ description: 'the CSV file', contentMediaType: 'text/csv' }),
        ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 410)
      }
    }
  }, async (request, reply) => {
    const state: DataRequestState = { operation: 'data.export.download' }
    requestState.set(request, state)
    const principal = request.principal!
    const { id } = request.params
    const row = await repo.getVisible(principal, id)
    if (!row) throw new ExportNotFoundError(id)
    const expired = row.status === 'expired' || (row.status === 'done' && row.expires_at !== null && new Date(row.expires_at) <= new Date())
    if (expired) throw new ExportGoneError(`export ${id} expired; its file was deleted: export again`)
    if (row.status !== 'done') throw new ExportNotReadyError(`export ${id} is ${row.status}${row.error ? ` (${row.error})` : ''}`)
    const grant = chooseGrant(principal, row.dataset_code, 'export', await cache.grantsOf(principal.unit, row.dataset_code), row.grant_id)
    const entry = await cache.dataset(row.dataset_code)
    if (!entry || entry.dataset.status === 'destroyed') throw new ExportGoneError(`dataset ${row.dataset_code} was destroyed, and its exports with it`)
    // the file holds the rows consented to when it was written: a withdrawal or expiry since takes it out of service
    if (restsOnConsent(grant, entry.dataset) && await consentLapsedSince(app.db, grant, row.started_at ?? row.created_at)) {
      throw new ExportGoneError(`a consent its rows rest on was withdrawn or lapsed since export ${id} was written: export again`)
    }
    if (!row.file_name || !row.sha256 || !(await fileExists(dir, row.file_name))) throw new ExportGoneError(`the file of export ${id} is no longer there: export again`)

    const seq = await recordOrRefuse(request, async () => await app.audit.appendFor(request, {
      service: 'gateway',
      action: 'export',
      operation: state.operation,
      objectType: 'export',
      objectId: id,
      dataset: row.dataset_code,
      fields: row.fields,
      rows: Number(row.rows_written),
      grantId: row.grant_id,
      details: { export: id, sha256: row.sha256, bytes: Number(row.bytes), decoys: row.decoys, filters: row.filter_summary }
    }), {
      log: 'audit: an export download could not be recorded; no data sent',
      detail: 'the audit log cannot be written right now, so no data is sent; retry shortly'
    })
    const body = Readable.from(readSealed(dir, row.file_name, id, exportFileKey(key, id), row.sha256))
    body.on('error', (err) => { request.log.error({ err, export: id }, 'export: the file could not be read back; the download was cut') })
    return await reply
      .header('x-audit-event', seq)
      .header('x-grant', row.grant_id)
      .header('content-disposition', `attachment; filename="${row.dataset_code}-${id}.csv"`)
      .header('repr-digest', `sha-256=:${Buffer.from(row.sha256, 'hex').toString('base64')}:`)
      .header('content-length', Number(row.bytes))
      .type('text/csv; charset=utf-8')
      .send(body as never)
  })
}
