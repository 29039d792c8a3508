import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { recordOrRefuse } from '../../audit/index.js'
import type { MaskingKey } from '../../masking/index.js'
import { FieldError } from '../../platform/errors.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import type { ExportRepository } from '../exports/repository.js'
import { readFragment, MAX_TRACE_ROWS, MIN_TRACE_ROWS } from './fragment.js'
import { TRACE_BODY_LIMIT, TraceJsonBodySchema, TraceResultSchema } from './schemas.js'
import { MIN_CONFIDENCE, traceFragment } from './trace.js'

/** Exports compared with one file, newest first. */
export const MAX_CANDIDATES = 200

export interface TraceRouteOptions {
  key: MaskingKey
  repo: ExportRepository
}

/** Leak tracing: a suspected file → the export, grant, unit and person it came from (R7.10, R11.1, R11.2). */
export const watermarkRoutes: FastifyPluginAsyncTypebox<TraceRouteOptions> = async (app, { key, repo }) => {
  // the file itself, as it was found
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: TRACE_BODY_LIMIT }, (_request, body, done) => { done(null, body) })

  app.post('/watermarks/trace', {
    bodyLimit: TRACE_BODY_LIMIT,
    config: { access: { roles: ['security_admin', 'auditor'] }, bodyNeverStored: true },
    schema: {
      tags: ['data access'],
      summary: 'Trace a leaked file to its export',
      description: 'Takes a suspected leaked file (`text/csv`, or JSON `{"csv": "…"}`; at most 50 MB; a header line, then at least ' +
        `${MIN_TRACE_ROWS} rows, of which the first ${MAX_TRACE_ROWS} are looked at) — a whole export or a fragment of one: any subset of its columns, ` +
        'rows in any order — and answers which exports it comes from: the export, its grant, unit and the person who made it, with a confidence ' +
        `and the evidence (invisible marks matching the export's key, its decoy rows found). Only matches of confidence ${MIN_CONFIDENCE} or more are ` +
        `listed; the newest ${MAX_CANDIDATES} exports whose fields hold the file's columns are compared (then the newest others, by marks alone, ` +
        'for files whose headers were renamed). The office and auditors only; every trace is recorded in the audit log.',
      operationId: 'traceWatermark',
      body: {
        content: {
          'text/csv': { schema: { type: 'string', description: 'the suspected file' } },
          'application/json': { schema: TraceJsonBodySchema }
        }
      } as never,
      response: { 200: TraceResultSchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request, reply) => {
    const body = request.body as unknown
    // with no content type there is no body, and no schema ran over it
    if (typeof body !== 'string' && typeof (body as { csv?: unknown } | undefined)?.csv !== 'string') {
      throw new FieldError('body', 'is required: the suspected file as text/csv, or JSON {"csv": "…"}')
    }
    const text = typeof body === 'string' ? body : (body as { csv: string }).csv
    const fragment = readFragment(text)
    const candidates = await repo.candidates(fragment.columns, MAX_CANDIDATES)
    const decoys = await repo.decoysOf(candidates.filter((c) => c.holds_columns).map((c) => c.id))
    const result = traceFragment(fragment, candidates, decoys, key)
    const matches = result.matches.map(({ logP: _, ...m }) => m)
    const seq = await recordOrRefuse(request, async () => await app.audit.appendFor(request, {
      service: 'gateway',
      action: 'query',
      operation: 'watermarks.trace',
      objectType: 'export',
      objectId: matches[0]?.export ?? null,
      dataset: matches[0]?.dataset ?? null,
      rows: 0,
      grantId: matches[0]?.grant ?? null,
      details: {
        rows: fragment.rows.length,
        columns: fragment.columns.slice(0, 50),
        candidates: result.candidates,
        matches: matches.slice(0, 20).map((m) => ({ export: m.export, unit: m.unit, sub: m.sub, confidence: m.confidence }))
      }
    }), {
      log: 'audit: a trace could not be recorded; its answer is withheld',
      detail: 'the audit log cannot be written right now, so the trace is not answered; retry shortly'
    })
    reply.header('x-audit-event', seq)
    return {
      matches,
      rowsChecked: fragment.rows.length,
      rowsSkipped: fragment.skipped,
      columns: fragment.columns,
      candidatesChecked: result.candidates,
      unverifiable: result.unverifiable
    }
  })
}
