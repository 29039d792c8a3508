import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { chooseFormat, type AcceptedTypes } from '../platform/formats.js'
import { encodeCursor, fetchPage, keysetPage, readCursor, SEQ_KEY } from '../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../platform/schemas.js'
import { csvHeader, csvLine } from './export.js'
import { AUDIT_READ_REFUSAL, recordOrRefuse } from './record.js'
import type { EventFilter } from './repository.js'
import {
  AuditEventPageSchema, CheckpointPageSchema, ListAuditEventsQuerySchema, ListCheckpointsQuerySchema,
  VerificationSchema, VerifyQuerySchema, type ListAuditEventsQuery
} from './schemas.js'
import { toCheckpointView, toEventView } from './view.js'

const tags = ['audit']
const auditors = { roles: ['auditor'] } as const
const EXPORT_MAX = 100_000
const EXPORT_PAGE = 1000
/** What the Accept header names to ask for an export (a JSON page otherwise). */
const EVENTS_ACCEPTED: AcceptedTypes<'json' | 'csv' | 'ndjson'> = [['csv', ['text/csv']], ['ndjson', ['application/x-ndjson']]]

/** The auditor's window on the log: events, exports, verification, checkpoints. Reads are audited too. */
export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const repo = app.audit.repository

  const filterOf = (q: ListAuditEventsQuery): Omit<EventFilter, 'limit' | 'afterSeq'> => ({
    ...(q.actor !== undefined ? { actor: q.actor } : {}),
    ...(q.unit !== undefined ? { unit: q.unit } : {}),
    ...(q.dataset !== undefined ? { dataset: q.dataset } : {}),
    ...(q.action !== undefined ? { action: q.action } : {}),
    ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
    ...(q.from !== undefined ? { from: q.from } : {}),
    ...(q.to !== undefined ? { to: q.to } : {})
  })

  app.get('/audit/events', {
    config: { access: auditors },
    schema: {
      tags,
      summary: 'Search and export audit events',
      description: 'Events in chain order, filtered by actor, unit, dataset, action, outcome and time, cursor-paginated. ' +
        '`format=csv` or `ndjson` (or the Accept header) exports every matching event after the cursor, up to 100,000, ' +
        'with `X-Next-Cursor` when more remain. Each read is itself recorded (R6.1).',
      operationId: 'listAuditEvents',
      querystring: ListAuditEventsQuerySchema,
      produces: ['application/json', 'text/csv', 'application/x-ndjson'],
      response: {
        200: {
          description: 'a page of events, or the export',
          content: {
            'application/json': { schema: AuditEventPageSchema },
            'text/csv': { schema: Type.String({ description: 'RFC 4180 CSV with a header row' }) },
            'application/x-ndjson': { schema: Type.String({ description: 'one event per line' }) }
          }
        },
        ...problems(...AUTHENTICATED_PROBLEMS)
      }
    }
  }, async (request, reply) => {
    const q = request.query
    const format = chooseFormat(q.format, request.headers.accept, EVENTS_ACCEPTED, 'json')
    const after = readCursor(q.cursor, SEQ_KEY)
    const filter = filterOf(q)
    await app.audit.flush() // changes committed so far are in the chain before anyone reads it
    if (format === 'json') {
      const { page, nextCursor } = await fetchPage(q.limit, (limit) => repo.list({ ...filter, limit, ...(after !== undefined ? { afterSeq: after } : {}) }), (e) => [e.seq])
      await recordOrRefuse(request, async () => await app.audit.appendFor(request, {
        service: 'audit', action: 'query', operation: 'audit.events.read', objectType: 'audit_log', rows: page.length, details: { filter }
      }), AUDIT_READ_REFUSAL)
      return { data: page.map(toEventView), nextCursor }
    }
    // the export is audited before a byte of it leaves; the count is what the query will return at most
    let cursor = after
    const pages: Awaited<ReturnType<typeof repo.list>>[] = []
    let total = 0
    while (total < EXPORT_MAX) {
      const rows = await repo.list({ ...filter, limit: Math.min(EXPORT_PAGE, EXPORT_MAX - total), ...(cursor !== undefined ? { afterSeq: cursor } : {}) })
      if (rows.length === 0) break
      pages.push(rows)
      total += rows.length
      cursor = rows[rows.length - 1]!.seq
      if (rows.length < EXPORT_PAGE) break
    }
    const more = total === EXPORT_MAX && (await repo.list({ ...filter, limit: 1, afterSeq: cursor! })).length > 0
    await recordOrRefuse(request, async () => await app.audit.appendFor(request, {
      service: 'audit', action: 'export', operation: 'audit.events.export', objectType: 'audit_log', rows: total, details: { filter, format }
    }), AUDIT_READ_REFUSAL)
    if (more) reply.header('x-next-cursor', encodeCursor([cursor!]))
    const lines = function * () {
      if (format === 'csv') yield csvHeader()
      for (const rows of pages) {
        for (const row of rows) {
          const view = toEventView(row)
          yield format === 'csv' ? csvLine(view) : `${JSON.stringify(view)}\n`
        }
      }
    }
    reply.header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
    reply.header('content-disposition', `attachment; filename="audit-events.${format}"`)
    // a stream is sent as is: the typed reply knows only the JSON shape
    return reply.send(Readable.from(lines()) as unknown as string)
  })

  app.get('/audit/verify', {
    config: { access: auditors },
    schema: {
      tags,
      summary: 'Verify the audit chain',
      description: 'Recomputes every hash and link from `from` to `to` and checks every signed checkpoint in range: ' +
        'an altered, removed, reordered or inserted event, a recomputed chain or a truncated tail is reported as ' +
        '`firstBroken` (R11.2). The verification is itself recorded.',
      operationId: 'verifyAuditChain',
      querystring: VerifyQuerySchema,
      response: { 200: VerificationSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    // a log too damaged to take new events must still be verifiable: that is when it matters most
    await app.audit.flush().catch((err: unknown) => { request.log.error({ err }, 'audit: flush before verification failed') })
    const result = await app.audit.verify(request.query)
    await app.audit.appendFor(request, {
      service: 'audit',
      action: 'query',
      operation: 'audit.verify',
      objectType: 'audit_log',
      outcome: 'success',
      details: { from: result.from, to: result.to, ok: result.ok, firstBroken: result.firstBroken }
    }).catch((err: unknown) => { request.log.error({ err }, 'audit: the verification could not be recorded') })
    return result
  })

  app.get('/audit/checkpoints', {
    config: { access: auditors },
    schema: {
      tags,
      summary: 'List signed checkpoints',
      description: 'Chain heads signed with the platform key every AUDIT_CHECKPOINT_EVENTS events or AUDIT_CHECKPOINT_SECONDS, ' +
        'and at each retention boundary. Keep copies elsewhere: they make truncation and rewriting evident.',
      operationId: 'listAuditCheckpoints',
      querystring: ListCheckpointsQuerySchema,
      response: { 200: CheckpointPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { page, nextCursor } = await keysetPage(request.query, { key: SEQ_KEY, as: 'afterSeq', fetch: (p) => repo.checkpoints(p), keyOf: (c) => [c.seq] })
    return { data: page.map(toCheckpointView), nextCursor }
  })
}
