import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotFoundError } from '../platform/errors.js'
import { decodeCursor, paginate } from '../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../platform/schemas.js'
import {
  AccessReportQuerySchema, AccessReportSchema, AckAlertSchema, AlertPageSchema, AlertParamsSchema, AlertSchema,
  ListAlertsQuerySchema, type AlertView
} from './alert-schemas.js'
import type { AlertRow } from './alerts.js'

const tags = ['audit']
const auditors = { roles: ['auditor'] } as const
const REPORT_MAX = 5000

function toAlertView (a: AlertRow): AlertView {
  return {
    id: a.id,
    rule: a.rule,
    actor: { sub: a.actorSub, unit: a.actorUnit, ip: a.actorIp },
    windowStart: a.windowStart,
    windowEnd: a.windowEnd,
    count: a.count,
    firstSeq: Number(a.firstSeq),
    lastSeq: Number(a.lastSeq),
    status: a.status,
    ackedBy: a.ackedBy,
    ackedAt: a.ackedAt,
    note: a.note,
    createdAt: a.createdAt,
    details: a.details
  }
}

/** Alerts raised from the log, their acknowledgement, and the access report. */
export const alertRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const alerts = app.audit.alerts

  app.get('/audit/alerts', {
    config: { access: auditors },
    schema: {
      tags,
      summary: 'List alerts',
      description: 'High-risk behaviour recognised in the log, each traced to a caller and the seq range of its events: ' +
        'many refusals from one caller (by default 20 in 5 minutes; the caller is also blacklisted for BLACKLIST_AUTO_MINUTES), ' +
        'bursts of reads and exports (600 a minute), bulk extraction (100,000 rows an hour), each share request review past its ' +
        'deadline (overdue_review), reads of important or children\'s data outside working hours (off_hours: before 08:00, from 20:00 ' +
        'and at weekends, campus time), exports of sensitive or children\'s personal information (sensitive_export: 1,000 rows an hour), ' +
        'reads far above the caller\'s own rate (unusual_rate: 10 times its average per 5 minutes over the previous 7 days, and at least 100), ' +
        'rows read under a grant beyond its daily row quota (quota), each grant falling due for re-certification (recertification_due), and each data-error correction past its deadline (correction_overdue). Thresholds and windows are configuration (AUDIT_ALERT_*). ' +
        'Rules run every few seconds.',
      operationId: 'listAuditAlerts',
      querystring: ListAlertsQuerySchema,
      response: { 200: AlertPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, status } = request.query
    const after = cursor === undefined ? undefined : Number(decodeCursor(cursor, 1)[0])
    await app.audit.evaluateAlerts()
    const rows = await alerts.list({ limit: limit + 1, ...(status !== undefined ? { status } : {}), ...(after !== undefined ? { afterId: after } : {}) })
    const { page, nextCursor } = paginate(rows, limit, (a) => [a.id])
    return { data: page.map(toAlertView), nextCursor }
  })

  app.post('/audit/alerts/:id/ack', {
    config: { access: auditors },
    schema: {
      tags,
      summary: 'Acknowledge an alert',
      description: 'Marks an open alert as handled, with a note. Acknowledging twice keeps the first. Recorded in the log.',
      operationId: 'acknowledgeAuditAlert',
      params: AlertParamsSchema,
      body: AckAlertSchema,
      response: { 200: AlertSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 413, 415) }
    }
  }, async (request) => {
    const row = await alerts.acknowledge(request.params.id, request.principal!.sub, request.body?.note ?? null)
    if (!row) throw new NotFoundError(`no alert ${request.params.id}`)
    await app.audit.appendFor(request, {
      service: 'audit', action: 'review', operation: 'audit.alert.ack', objectType: 'audit_alert', objectId: String(row.id), details: { rule: row.rule }
    })
    return toAlertView(row)
  })

  app.get('/audit/reports/access', {
    config: { access: auditors },
    schema: {
      tags,
      summary: 'Access report',
      description: 'Per acting unit, dataset, caller and action over a period: events, rows and first/last time (R6.1, R7.10). ' +
        'Recorded in the log.',
      operationId: 'auditAccessReport',
      querystring: AccessReportQuerySchema,
      response: { 200: AccessReportSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const q = request.query
    await app.audit.flush()
    const rows = await app.audit.repository.accessReport({ ...q, limit: REPORT_MAX + 1 })
    await app.audit.appendFor(request, {
      service: 'audit', action: 'query', operation: 'audit.report.access', objectType: 'audit_log', rows: Math.min(rows.length, REPORT_MAX), details: { ...q }
    })
    return {
      from: q.from,
      to: q.to,
      truncated: rows.length > REPORT_MAX,
      data: rows.slice(0, REPORT_MAX).map((r) => ({
        unit: r.unit, dataset: r.dataset!, actor: r.actor, action: r.action as 'query', events: r.events, rows: Number(r.rows), first: r.first, last: r.last
      }))
    }
  })
}
