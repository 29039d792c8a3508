import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { recordOrRefuse, tracedPersons, type PersonTracer } from '../../audit/index.js'
import type { MaskingKey } from '../../masking/index.js'
import { chooseFormat } from '../../platform/formats.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { consentDetails, pageConsentExcluded } from './consent.js'
import { QuotaExceededError } from './errors.js'
import { CONTENT_TYPES, DATA_ACCEPTED, DATA_FORMATS, streamRows } from './format.js'
import { MAX_LIMIT, openCursor, sealCursor, WHERE_OPERATORS } from './plan.js'
import type { QuotaCounter } from './quota.js'
import type { DataReader, ReadPlan } from './reader.js'
import { DataPageSchema, DataParamsSchema, DataSchemaSchema, RecordsQuerySchema, SchemaQuerySchema } from './schemas.js'

const tags = ['data access']
/** Whoever holds a grant: a unit's staff and systems, and stewards reading other units' data. */
const access = { roles: ['consumer', 'steward'] } as const

export interface DataRouteOptions {
  reader: DataReader
  quota: QuotaCounter
  key: MaskingKey
  /** which reads record the persons they served (AUDIT_PERSON_TRACE) */
  tracer: PersonTracer
  serverTiming: boolean
}

/** What a data request resolved, for the audit event of its refusal. */
export interface DataRequestState {
  operation: string
  plan?: ReadPlan
  /** its refusal is recorded already */
  audited?: boolean
}
export const requestState = new WeakMap<FastifyRequest, DataRequestState>()

const ms = (from: number) => (performance.now() - from).toFixed(2)

/** The unified data-access API: granted, masked, audited reads (R6.1–R6.3, R7.2, R7.6, R9.3). */
export const dataRoutes: FastifyPluginAsyncTypebox<DataRouteOptions> = async (app, { reader, quota, key, tracer, serverTiming }) => {
  app.get('/data/:dataset/records', {
    config: { access, auditsItself: true },
    schema: {
      tags,
      summary: 'Read records of a dataset under a grant',
      description: 'Rows of a dataset as the caller\'s grant allows: its fields only (`fields` picks among them; any other is 403 naming it), ' +
        'its row filter ANDed with the caller\'s filters, its masking policy applied field by field. Filters are query parameters ' +
        `\`where[field]=value\` (equality) or \`where[field][op]=value\` with op one of ${WHERE_OPERATORS.join(', ')} (\`in\` takes comma-separated values); ` +
        'on a masked field only eq and in, compared with the real values while the output stays masked. Keyset pagination: `limit` ' +
        `(at most ${MAX_LIMIT}) and the sealed \`cursor\` of the previous page. JSON by default; CSV or NDJSON by \`format\` or the Accept header, ` +
        'with the next cursor, grant and masked fields in the X-Next-Cursor, X-Grant and X-Masked-Fields headers. The read is recorded in the ' +
        'audit log before any row is sent (X-Audit-Event: its sequence number); if it cannot be recorded the answer is 503 and no data. ' +
        'The grant\'s daily row quota is enforced (429). Revoked, suspended and expired grants are refused at once. Under a grant resting on ' +
        'consent (`consentBased`, or a dataset with sensitive or children\'s personal information) only the rows of persons holding a valid consent ' +
        'for the dataset and the grant\'s purpose are served (checked at the read: a withdrawal counts at once); the others are absent, and the ' +
        'audit event says how many (`consentExcluded`).',
      operationId: 'readRecords',
      params: DataParamsSchema,
      querystring: RecordsQuerySchema,
      produces: ['application/json', 'text/csv', 'application/x-ndjson'],
      // the where[…] filters, as one deepObject parameter in the OpenAPI document (see docs.ts)
      ...({ 'x-where-filters': true } as object),
      response: {
        200: {
          description: 'a page of rows',
          content: {
            'application/json': { schema: DataPageSchema },
            'text/csv': { schema: Type.String({ description: 'RFC 4180 CSV with a header line; X-Next-Cursor, X-Grant, X-Masked-Fields headers' }) },
            'application/x-ndjson': { schema: Type.String({ description: 'one JSON object per line; X-Next-Cursor, X-Grant, X-Masked-Fields headers' }) }
          }
        },
        ...problems(...AUTHENTICATED_PROBLEMS, 404)
      }
    }
  }, async (request, reply) => {
    const t0 = performance.now()
    const authMs = reply.elapsedTime.toFixed(2)
    const state: DataRequestState = { operation: 'data.records.read' }
    requestState.set(request, state)
    const principal = request.principal!
    const { dataset } = request.params
    const q = request.query

    const plan = await reader.plan(principal, dataset, 'api', { grant: q.grant, fields: q.fields, query: q as Record<string, unknown> })
    state.plan = plan
    const after = q.cursor === undefined ? undefined : openCursor(key, plan.grant.id, q.cursor)
    const grantMs = ms(t0)

    const allowed = await quota.reserve(plan.grant.id, plan.day, plan.grant.daily_row_quota, q.limit)
    if (allowed === 0) {
      // refused, recorded, and the office alerted (one alert per grant and day)
      try {
        const seq = await recordRefusal(app, request, 429, 'DATA_QUOTA_EXCEEDED')
        reply.header('x-audit-event', seq)
        await app.audit.alerts.raiseQuotaExceeded({
          grantId: plan.grant.id,
          dataset,
          unit: principal.unit,
          sub: principal.sub,
          day: plan.day,
          used: await quota.used(plan.grant.id, plan.day),
          quota: plan.grant.daily_row_quota,
          seq
        })
      } catch (err) {
        request.log.error({ err }, 'audit: a quota refusal or its alert could not be recorded')
      }
      throw new QuotaExceededError(`the daily row quota of grant ${plan.grant.id} (${plan.grant.daily_row_quota} rows) is used up for ${plan.day}; it renews at midnight campus time`)
    }
    // JSON pages of a plan the database can write come as each row's JSON text (reader.jsonRows)
    const format = chooseFormat(q.format, request.headers.accept, DATA_ACCEPTED, 'json')
    const asJson = format === 'json' && plan.json !== null
    const t1 = performance.now()
    let rows
    let consentExcluded
    try {
      rows = await reader.fetch(plan, { after, limit: allowed + 1, kept: true, counted: true, json: asJson })
      consentExcluded = await pageConsentExcluded(app.db, plan, after, rows, allowed)
    } catch (err) {
      quota.release(plan.grant.id, plan.day, allowed)
      throw err
    }
    const queryMs = ms(t1)
    const more = rows.length > allowed
    if (more) rows.length = allowed
    const count = rows.length
    quota.release(plan.grant.id, plan.day, allowed - count)

    const t2 = performance.now()
    // whose rows these are, as keyed digests, before the masks run (the person key may be masked)
    const persons = tracer.of(plan.view.entry.dataset)?.persons(rows) ?? null
    const nextCursor = more ? sealCursor(key, plan.grant.id, rows[count - 1]!.record_key) : null
    let texts: string[] | null = null
    let data: Record<string, unknown>[] | null = null
    if (asJson) {
      texts = reader.jsonRows(plan, rows, count)
    } else {
      data = new Array<Record<string, unknown>>(count)
      for (let i = 0; i < count; i++) data[i] = plan.keptMasker(rows[i]!.data)
    }
    rows = null
    const maskMs = ms(t2)

    // A JSON page is serialised before the audit wait (it is sent only once the event is committed):
    // meanwhile the request holds one string, not the page's objects, which would otherwise outlive
    // young-generation collections under load and be promoted.
    const t3 = performance.now()
    let body: string | null = null
    if (format === 'json') {
      // the rows are plain JSON already, and a schema serialiser would walk them again
      const page = texts === null ? JSON.stringify(data) : `[${texts.join(',')}]`
      body = `{"data":${page},"nextCursor":${JSON.stringify(nextCursor)},"grant":"${plan.grant.id}","masked":${JSON.stringify(plan.masked)}}`
      data = null
      texts = null
    }
    const serialiseMs = ms(t3)

    const t4 = performance.now()
    const seq = await recordOrRefuse(request, async () => await app.audit.appendFor(request, {
      service: 'gateway',
      action: 'query',
      operation: state.operation,
      objectType: 'dataset',
      objectId: dataset,
      dataset,
      fields: plan.fields,
      rows: count,
      grantId: plan.grant.id,
      persons,
      details: detailsOf(plan, { format, limit: q.limit, cursor: after !== undefined, masked: plan.masked, ...tracedPersons(persons), ...consentDetails(plan, consentExcluded) })
    }), {
      log: 'audit: a data read could not be recorded; no data sent',
      detail: 'the audit log cannot be written right now, so no data is sent; retry shortly',
      undo: () => { quota.release(plan.grant.id, plan.day, count) }
    })
    const auditMs = ms(t4)

    reply.header('x-audit-event', seq).header('x-grant', plan.grant.id)
    if (serverTiming) reply.header('server-timing', `auth;dur=${authMs}, grant;dur=${grantMs}, query;dur=${queryMs}, mask;dur=${maskMs}, audit;dur=${auditMs}, serialise;dur=${serialiseMs}`)
    if (format === 'json') return await reply.type(CONTENT_TYPES.json).send(body! as never)
    reply.header('x-masked-fields', plan.masked.join(','))
    if (nextCursor) reply.header('x-next-cursor', nextCursor).header('link', `<${nextLink(request, nextCursor)}>; rel="next"`)
    return await reply.type(CONTENT_TYPES[format]).send(streamRows(format, plan.fields, data!) as never)
  })

  app.get('/data/:dataset/schema', {
    config: { access, auditsItself: true },
    schema: {
      tags,
      summary: 'What the caller may read of a dataset',
      description: 'The fields, filters and formats the caller\'s grant allows, with their masking. Nothing about fields outside the grant.',
      operationId: 'readSchema',
      params: DataParamsSchema,
      querystring: SchemaQuerySchema,
      response: { 200: DataSchemaSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request, reply) => {
    const state: DataRequestState = { operation: 'data.schema.read' }
    requestState.set(request, state)
    const plan = await reader.plan(request.principal!, request.params.dataset, 'api', { grant: request.query.grant })
    state.plan = plan
    const { grant, view } = plan
    const seq = await recordOrRefuse(request, async () => await app.audit.appendFor(request, {
      service: 'gateway',
      action: 'query',
      operation: state.operation,
      objectType: 'dataset',
      objectId: grant.dataset_code,
      dataset: grant.dataset_code,
      fields: plan.fields,
      rows: 0,
      grantId: grant.id,
      details: { profile: view.profile }
    }), {
      log: 'audit: a schema read could not be recorded',
      detail: 'the audit log cannot be written right now; retry shortly'
    })
    reply.header('x-audit-event', seq)
    return {
      dataset: grant.dataset_code,
      name: view.entry.dataset.name,
      grant: grant.id,
      validUntil: grant.valid_until,
      accessModes: grant.access_modes,
      dailyRowQuota: grant.daily_row_quota,
      rowsUsedToday: await quota.used(grant.id, plan.day),
      profile: view.profile,
      rowFilter: grant.row_filter,
      consent: view.consent === null ? null : { purposeCode: grant.purpose_code },
      fields: [...view.fields.values()].map((p) => ({
        name: p.field.name,
        type: p.field.type,
        description: p.field.description,
        piType: p.field.piType,
        masked: p.masked,
        strategy: p.rule.rule.strategy,
        filters: [...p.operators] as (typeof WHERE_OPERATORS[number])[]
      })),
      formats: [...DATA_FORMATS],
      maxLimit: MAX_LIMIT
    }
  })
}

/** What the audit event says of a read: the filters' fields and operators, never their values (they may be personal data). */
export function detailsOf (plan: ReadPlan, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    ...extra,
    filters: plan.where.summary,
    rowFilter: Object.keys(plan.grant.row_filter),
    profile: plan.view.profile
  }
}

function nextLink (request: FastifyRequest, cursor: string): string {
  const url = new URL(request.url, 'http://x')
  url.searchParams.set('cursor', cursor)
  return `${url.pathname}${url.search}`
}

/** Records a refused data request with what was resolved of it (dataset, fields, grant); its sequence number. */
async function recordRefusal (app: Parameters<FastifyPluginAsyncTypebox>[0], request: FastifyRequest, status: number, code: string | null): Promise<string> {
  const state = requestState.get(request)
  const params = request.params as { dataset?: string } | undefined
  const { seq } = await app.audit.appendFor(request, {
    service: 'gateway',
    action: status === 401 || status === 403 ? 'denied' : 'query',
    operation: state?.operation ?? `${request.method} ${request.routeOptions.url ?? ''}`,
    outcome: status >= 500 ? 'failure' : 'denied',
    objectType: 'dataset',
    objectId: params?.dataset ?? null,
    dataset: params?.dataset ?? null,
    fields: state?.plan?.fields ?? null,
    grantId: state?.plan?.grant.id ?? null,
    rows: 0,
    details: { status, code, route: request.routeOptions.url ?? null }
  })
  if (state) state.audited = true
  return seq
}

/**
 * Refusals of the data path (400 to 503) are audited before they leave, each once, with the
 * sequence number of their event in X-Audit-Event.
 */
export function auditRefusals (app: Parameters<FastifyPluginAsyncTypebox>[0]) {
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const status = reply.statusCode
    if (status < 400 || !request.routeOptions.config.auditsItself || requestState.get(request)?.audited) return payload
    const code = typeof payload === 'string' ? /"code":"([A-Z0-9_]+)"/.exec(payload)?.[1] ?? null : null
    try {
      reply.header('x-audit-event', await recordRefusal(app, request, status, code))
    } catch (err) {
      request.log.error({ err }, 'audit: a refused data request could not be recorded')
    }
    return payload
  })
}
