import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import type { Role } from '../../platform/auth/roles.js'
import { keysetPage, TEXT_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { createDatasetRepository } from '../datasets/repository.js'
import { DatasetNotFoundError, NotProducerError } from '../errors.js'
import {
  REJECTION_RATE_LIMIT, WINDOW_DAYS, buildQualityReport, retentionCutoff, retentionStatus, samplingPlan, windowStart
} from './report.js'
import { createQualityRepository } from './repository.js'
import {
  ExpiredPageSchema, ExpiredQuerySchema, QualityParamsSchema, QualityQuerySchema, QualityReportSchema, RetentionReportSchema
} from './schemas.js'

const tags = ['quality']
/** Roles that read every unit's reports: the data-management office and auditors (and, for retention, the destruction supervisor). */
const OFFICE: readonly Role[] = ['security_admin', 'auditor']
const RETENTION_OFFICE: readonly Role[] = [...OFFICE, 'supervisor']

/**
 * The producer unit's members read their dataset's reports; so do the cross-unit roles. Anyone else
 * learns nothing of a draft (404, as if absent) and is refused a published dataset, whose existence
 * the catalog already shows (403).
 */
function assertReader (principal: Principal, dataset: Dataset | null, code: string, crossUnit: readonly Role[]): Dataset {
  if (!dataset) throw new DatasetNotFoundError(code)
  if (principal.unit === dataset.producer_unit || principal.roles.some((r) => crossUnit.includes(r))) return dataset
  if (dataset.status === 'draft') throw new DatasetNotFoundError(code)
  throw new NotProducerError(`reports of dataset ${code} are for its producer unit ${dataset.producer_unit}, the data-management office and auditors`)
}

/** Quality (R2.10, R3.3, R9.4) and retention (R5.2) reports of the catalog's datasets. */
export const qualityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const datasets = createDatasetRepository(app.db)
  const quality = createQualityRepository(app.db)

  app.get('/datasets/:code/quality', {
    config: { access: { roles: ['steward', 'consumer', ...OFFICE] } },
    schema: {
      tags,
      summary: 'Quality report of a dataset',
      description: 'Completeness per field, validity of the ingest batches (totals, per day for the last 30 days, the fields ' +
        'rejections name most), freshness against the update frequency, row count, distinct persons with the scale duties of ' +
        'R9.4, retention, and anomalies. For the producer unit\'s members, `security_admin` and `auditor`; other units get ' +
        '404 for a draft and 403 otherwise. Completeness is exact up to 1,000,000 records and sampled above (`samplePercent`).',
      operationId: 'getDatasetQuality',
      params: QualityParamsSchema,
      querystring: QualityQuerySchema,
      response: { 200: QualityReportSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const { code } = request.params
    const dataset = assertReader(request.principal!, await datasets.find(code), code, OFFICE)
    const now = new Date()
    const since = windowStart(now, WINDOW_DAYS)
    const facts = await quality.snapshot(async (trx) => {
      const stats = await quality.recordStats(code, retentionCutoff(now, dataset.retention_days), trx)
      const samplePercent = samplingPlan(stats.rows, request.query.samplePercent)
      const completeness = await quality.completeness(code, dataset.fields, samplePercent, trx)
      const batches = await quality.batchTotals(code, since, trx)
      return {
        ...stats,
        ...batches,
        completeness: { samplePercent, ...completeness },
        daily: await quality.daily(code, since, trx),
        topRejectedFields: await quality.topRejectedFields(code, since, 10, trx),
        rejectedBatches: await quality.rejectingBatches(code, since, REJECTION_RATE_LIMIT, 20, trx)
      }
    })
    return buildQualityReport({
      ...facts,
      dataset: {
        code,
        fields: dataset.fields,
        updateFrequency: dataset.update_frequency,
        retentionDays: dataset.retention_days,
        personKey: dataset.person_key,
        holdsPersonalInfo: dataset.holds_pi
      }
    }, { now })
  })

  app.get('/datasets/:code/retention', {
    config: { access: { roles: ['steward', 'consumer', ...RETENTION_OFFICE] } },
    schema: {
      tags,
      summary: 'Retention report of a dataset',
      description: 'Records first stored longer ago than the dataset\'s retention period (R5.2), to archive or destroy. ' +
        'For the producer unit\'s members, `security_admin`, `auditor` and `supervisor`; other units get 404 for a draft ' +
        'and 403 otherwise.',
      operationId: 'getDatasetRetention',
      params: QualityParamsSchema,
      response: { 200: RetentionReportSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const { code } = request.params
    const dataset = assertReader(request.principal!, await datasets.find(code), code, RETENTION_OFFICE)
    const now = new Date()
    const stats = await quality.recordStats(code, retentionCutoff(now, dataset.retention_days))
    return {
      dataset: code,
      generatedAt: now.toISOString(),
      rows: stats.rows,
      ...retentionStatus({ retentionDays: dataset.retention_days, ...stats }, now)
    }
  })

  app.get('/retention/expired', {
    config: { access: { roles: RETENTION_OFFICE } },
    schema: {
      tags,
      summary: 'Datasets past retention',
      description: 'Every dataset holding records first stored longer ago than its retention period (R5.2), ordered by ' +
        'code, cursor-paginated. For `security_admin`, `auditor` and `supervisor`.',
      operationId: 'listExpiredDatasets',
      querystring: ExpiredQuerySchema,
      response: { 200: ExpiredPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const now = new Date()
    const { page, nextCursor } = await keysetPage(request.query, { key: TEXT_KEY, as: 'after', fetch: (p) => quality.expired(now, p), keyOf: (r) => [r.code] })
    return {
      data: page.map(({ code, producerUnit, ...status }) => ({ dataset: code, producerUnit, ...retentionStatus(status, now) })),
      nextCursor
    }
  })
}
