import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { onRequestAsyncHookHandler } from 'fastify'
import type { AuditLog } from '../../audit/index.js'
import { recordOrRefuse, tracedPersons, type PersonTracer } from '../../audit/index.js'
import { openDatasets, openStateOf } from '../../catalog/index.js'
import type { MaskingKey } from '../../masking/index.js'
import { campusToday } from '../../platform/calendar.js'
import { chooseFormat, type AcceptedTypes } from '../../platform/formats.js'
import { paginate, readCursor, type CursorKey } from '../../platform/pagination.js'
import { problems } from '../../platform/schemas.js'
import { streamRows } from '../data/format.js'
import { openOpenCursor, sealOpenCursor } from './cursor.js'
import { catalogDocument } from './dcat.js'
import { OpenDatasetConditionalError, OpenDatasetNotFoundError } from './errors.js'
import type { PublicViews } from './public-view.js'
import type { OpenDataRepository } from './repository.js'
import { anonymous } from './refusals.js'
import { CatalogQuerySchema, CatalogSchema, OpenDatasetParamsSchema, OpenRecordsPageSchema, OpenRecordsQuerySchema, type OpenFormat } from './schemas.js'

const tags = ['open-data']

export interface OpenRouteOptions {
  repo: OpenDataRepository
  views: PublicViews
  key: MaskingKey
  log: AuditLog
  /** which downloads record the persons they served (AUDIT_PERSON_TRACE) */
  tracer: PersonTracer
  /** the per-address limit of the open API, shared by its routes */
  limit: onRequestAsyncHookHandler
  license: string
  publicBaseUrl: string | undefined
}

/** What the Accept header names to ask for CSV records (JSON otherwise). */
const RECORDS_ACCEPTED: AcceptedTypes<OpenFormat> = [['csv', ['text/csv']]]
/** The catalog is JSON-LD unless the Accept header asks for plain JSON and not for JSON-LD. */
const CATALOG_ACCEPTED: AcceptedTypes<'jsonld' | 'json'> = [['jsonld', ['application/ld+json']], ['json', ['application/json']]]

/** The same request with the next page's cursor. */
function nextLink (url: string, cursor: string): string {
  const next = new URL(url, 'http://x')
  next.searchParams.set('cursor', cursor)
  return `${next.pathname}${next.search}`
}

/** the cursor of the catalog: the last dataset's code, issued as a JSON string and taken only as one */
const DATASET_CODE: CursorKey<string> = { arity: 1, parse: ([part]) => typeof part === 'string' ? part : undefined }

const byCode = (a: { dataset: { code: string } }, b: { dataset: { code: string } }) =>
  a.dataset.code < b.dataset.code ? -1 : a.dataset.code > b.dataset.code ? 1 : 0

/**
 * The open data API (R8.1, R8.3): the open catalog as DCAT JSON-LD, and unconditional-open data for
 * anyone, without a token, masked for the public, every download audited before it leaves.
 */
export const openRoutes: FastifyPluginAsyncTypebox<OpenRouteOptions> = async (app, options) => {
  const { repo, views, key, log, tracer, limit, license } = options
  // the open routes count requests per address themselves (OPEN_RATE_LIMIT_*), not the API's limit
  const config = { access: 'public' as const, rateLimit: false as const }

  app.get('/catalog', {
    config,
    onRequest: limit,
    schema: {
      tags,
      summary: 'The open catalog (no token)',
      description: 'Every dataset that passed the three-level open review (producer steward, office, leading group) and is open now, as ' +
        'DCAT JSON-LD: title, description, publisher (the producer unit), licence, update frequency (`dct:accrualPeriodicity`), ' +
        'issued and modified dates, keywords and theme, the open attribute, and its distributions: CSV and JSON downloads for ' +
        'unconditional-open datasets, the open-request API for conditional-open ones. `application/ld+json` unless the Accept header ' +
        'asks for `application/json`. Ordered by code, cursor-paginated. Rate-limited per address.',
      operationId: 'getOpenCatalog',
      querystring: CatalogQuerySchema,
      produces: ['application/ld+json', 'application/json'],
      response: { 200: CatalogSchema, ...problems(400, 429, 503) }
    }
  }, async (request, reply) => {
    const after = readCursor(request.query.cursor, DATASET_CODE)
    const open = (await openDatasets(app.db)).sort(byCode)
    const rest = after === undefined ? open : open.filter((d) => d.dataset.code > after)
    const { page, nextCursor } = paginate(rest, request.query.limit, (d) => [d.dataset.code])
    const [publishers, lastIngest] = await Promise.all([
      repo.unitNames(page.map((d) => d.dataset.producer_unit)),
      repo.lastIngest(page.map((d) => d.dataset.code))
    ])
    const base = (options.publicBaseUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '')
    const plain = chooseFormat(undefined, request.headers.accept, CATALOG_ACCEPTED, 'jsonld') === 'json'
    reply.type(plain ? 'application/json; charset=utf-8' : 'application/ld+json; charset=utf-8')
    return catalogDocument(page, { base, license, publishers, lastIngest }, nextCursor)
  })

  app.get('/datasets/:code/records', {
    config,
    onRequest: limit,
    schema: {
      tags,
      summary: 'Download unconditional-open data (no token)',
      description: 'The records of a dataset that is in the open catalog as unconditional open, for anyone, masked by the dataset\'s ' +
        'third-party masking policy: personal information never leaves raw (identifiers pseudonymised, names, phones and the like ' +
        'masked or withheld), fields outside the policy are dropped. Keyset pages: `limit` (at most 1000) and the opaque `cursor` ' +
        'of the previous page. JSON by default; CSV by `format=csv` or `Accept: text/csv`, with the next cursor and the masked fields ' +
        'in the X-Next-Cursor and X-Masked-Fields headers. A conditional-open dataset is a 403 pointing to the open-request API; ' +
        'any other dataset is a 404. Every download is recorded in the audit log (actor anonymous, with the address) before any row ' +
        'is sent: X-Audit-Event holds its sequence number; if it cannot be recorded the answer is 503 and no data. Refusals are ' +
        'recorded too. Rate-limited per address.',
      operationId: 'getOpenRecords',
      params: OpenDatasetParamsSchema,
      querystring: OpenRecordsQuerySchema,
      produces: ['application/json', 'text/csv'],
      response: {
        // per content type: the CSV is no JSON page (the document said it was; found by fuzzing)
        200: {
          description: 'a page of open records',
          content: {
            'application/json': { schema: OpenRecordsPageSchema },
            'text/csv': { schema: Type.String({ description: 'RFC 4180 CSV with a header line; X-Next-Cursor and X-Masked-Fields headers' }) }
          }
        },
        ...problems(400, 403, 404, 429, 503)
      }
    }
  }, async (request, reply) => {
    const { code } = request.params
    const q = request.query
    const found = await repo.dataset(code)
    // sensitive or children's data is served on consent only, never to anyone (the catalog refuses to make it unconditionally open)
    if (!found || found.dataset.open_attribute === 'none' || found.dataset.sensitive_pi || found.dataset.children_pi || !(await openStateOf(app.db, found.dataset)).open) {
      throw new OpenDatasetNotFoundError(code)
    }
    const { dataset, profiles } = found
    if (dataset.open_attribute !== 'unconditional') {
      throw new OpenDatasetConditionalError(`dataset ${code} is open on conditions only: file an open request (POST /api/v1/open-requests) ` +
        'saying who you are, your purpose, the fields you need and the scope of use; the data-management office decides')
    }
    const after = q.cursor === undefined ? undefined : openOpenCursor(key, code, q.cursor)
    const view = views.of(dataset, profiles, campusToday())
    const codec = await app.encryption.codec(dataset)
    const rows = await repo.page(code, { after, limit: q.limit + 1 })
    const more = rows.length > q.limit
    if (more) rows.length = q.limit
    const persons = tracer.of(dataset)?.persons(rows) ?? null
    const data = rows.map((r) => view.mask(codec ? codec.decode(r.record_key, r.data, r.sealed, view.fields) : r.data))
    const nextCursor = more ? sealOpenCursor(key, code, rows[rows.length - 1]!.record_key) : null
    const format = chooseFormat(q.format, request.headers.accept, RECORDS_ACCEPTED, 'json')

    const seq = await recordOrRefuse(request, async () => await log.append({
      service: 'gateway',
      action: 'query',
      operation: 'open.records.read',
      actor: anonymous(request),
      objectType: 'dataset',
      objectId: code,
      dataset: code,
      fields: view.fields,
      rows: data.length,
      requestId: String(request.id),
      persons,
      details: { format, cursor: after !== undefined, limit: q.limit, masked: view.masked, profile: 'third_party', ...tracedPersons(persons) }
    }), {
      log: 'audit: an open download could not be recorded; no data sent',
      detail: 'the audit log cannot be written right now, so no data is sent; retry shortly',
      code: 'OPEN_AUDIT_UNAVAILABLE'
    })

    reply.header('x-audit-event', seq)
    if (format === 'json') {
      // serialised here: the rows are plain JSON already, and a schema serialiser would walk them again
      return await reply.type('application/json; charset=utf-8')
        .send(JSON.stringify({ dataset: code, data, nextCursor, masked: view.masked }) as never)
    }
    reply.header('x-masked-fields', view.masked.join(','))
    reply.header('content-disposition', `attachment; filename="${code}.csv"`)
    if (nextCursor) reply.header('x-next-cursor', nextCursor).header('link', `<${nextLink(request.url, nextCursor)}>; rel="next"`)
    return await reply.type('text/csv; charset=utf-8').send(streamRows('csv', view.fields, data) as never)
  })
}
