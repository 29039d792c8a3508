import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotFoundError } from '../platform/errors.js'
import { keysetPage, type CursorKey } from '../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../platform/schemas.js'
import {
  AccessReportQuerySchema, AccessReportSchema, AckAlertSchema, AlertPageSchema, AlertParamsSchema, AlertSchema,
  ListAlertsQuerySchema, type AlertView
} from './alert-schemas.js'
import type { AlertRow } from './alerts/engine.js'
import { ALERT_RULES } from './alerts/registry.js'
import { AUDIT_READ_REFUSAL, recordOrRefuse } from './record.js'

const tags = ['audit']
const auditors = { roles: ['auditor'] } as const
const REPORT_MAX = 5000
/** the cursor of the alert list: the last alert's id, taken as a number */
const ALERT_ID: CursorKey<number> = { arity: 1, parse: ([part]) => Number(part) }

/** Items of a list in prose: a, b, and c. */
const listed = (items: readonly string[]) => items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')}, and ${items.at(-1)!}`

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
        `${listed(ALERT_RULES.map((r) => r.summary))}. Thresholds and windows are configuration (AUDIT_ALERT_*). ` +
        'Rules run every few seconds.',
      operationId: 'listAuditAlerts',
      querystring: ListAlertsQuerySchema,
      response: { 200: AlertPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { status } = request.query
    const { page, nextCursor } = await keysetPage(request.query, {
      key: ALERT_ID,
      as: 'afterId',
      fetch: async (p) => {
        await app.audit.evaluateAlerts()
        return await alerts.list({ ...p, ...(status !== undefined ? { status } : {}) })
      },
      keyOf: (a) => [a.id]
    })
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
    await recordOrRefuse(request, async () => await app.audit.appendFor(request, {
      service: 'audit', action: 'query', operation: 'audit.report.access', objectType: 'audit_log', rows: Math.min(rows.length, REPORT_MAX), details: { ...q }
    }), AUDIT_READ_REFUSAL)
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
