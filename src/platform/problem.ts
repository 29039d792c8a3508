import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { isDatabaseUnavailable } from '../db/faults.js'
import { FieldError } from './errors.js'
import { ProblemSchema, type Problem } from './schemas.js'

type ProblemField = NonNullable<Problem['errors']>[number]

/** Fastify's own error codes, given stable names and the status the contract promises. */
const FASTIFY_CODES: Record<string, { status: number, code: string, detail?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_REQUEST' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'VALIDATION_FAILED', detail: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'MALFORMED_JSON', detail: 'the body is not valid JSON' },
  FST_ERR_CTP_INSTANCE_ALREADY_STARTED: { status: 500, code: 'INTERNAL' }
}

export function sendProblem (request: FastifyRequest, reply: FastifyReply, status: number, code: string, detail: string, errors?: ProblemField[]) {
  const problem: Problem = {
    type: `urn:problem:datagate:${code.toLowerCase().replace(/_/g, '-')}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
    instance: request.url.split('?')[0],
    requestId: String(request.id),
    ...(errors && errors.length > 0 ? { errors } : {})
  }
  return reply.code(status).type('application/problem+json; charset=utf-8').send(problem)
}

function validationFields (err: FastifyError): ProblemField[] {
  const where = err.validationContext ?? 'body'
  const fields = (err.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>
    const segments = v.instancePath.split('/').filter(Boolean).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    let message = v.message ?? 'is invalid'
    if (typeof params.missingProperty === 'string') { segments.push(params.missingProperty); message = 'is required' }
    if (typeof params.additionalProperty === 'string') { segments.push(params.additionalProperty); message = 'is not a known field' }
    if (Array.isArray(params.allowedValues)) message = `must be one of ${params.allowedValues.join(', ')}`
    return { in: where, field: segments.join('.'), message }
  })
  // a value that fails every branch of a union is reported once per branch: keep each complaint once
  const seen = new Set<string>()
  return fields.filter((f) => !seen.has(`${f.field}\n${f.message}`) && seen.add(`${f.field}\n${f.message}`) !== undefined)
}

/** A UTF-16 surrogate without its other half: JSON can carry one (`"\\udfff"`), UTF-8 and jsonb cannot. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Text PostgreSQL cannot store: a NUL (not in text or jsonb) or a lone surrogate (not in jsonb). */
const unstorable = (text: string) => text.includes('\u0000') || LONE_SURROGATE.test(text)

/**
 * Parsed input is walked; a raw body is not (a proxied route's body is the request stream, a graph
 * of sockets and servers with cycles; a Buffer is bytes). Querystrings come with a prototype of
 * their own, so anything else that is an object is walked.
 */
const isRaw = (value: object): boolean => Buffer.isBuffer(value) || typeof (value as { pipe?: unknown }).pipe === 'function'

/**
 * Where the first unstorable string of a parsed input is (a dotted path, '' for the input itself),
 * or null. One that got through failed its query (a 500, found by fuzzing). Iterative, so that
 * deeply nested JSON cannot overflow the stack.
 */
export function unstorablePath (input: unknown): string | null {
  const stack: Array<[unknown, string]> = [[input, '']]
  while (stack.length > 0) {
    const [value, path] = stack.pop()!
    if (typeof value === 'string') {
      if (unstorable(value)) return path
    } else if (value !== null && typeof value === 'object' && !isRaw(value)) {
      for (const [k, v] of Object.entries(value)) {
        const at = path ? `${path}.${k}` : k
        if (unstorable(k)) return at
        stack.push([v, at])
      }
    }
  }
  return null
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * the route's body never reaches the database (masking or tracing what the caller sends, in
     * memory): text PostgreSQL could not store is data like any other there
     */
    bodyNeverStored?: boolean
  }
}

/**
 * Every route: a NUL or a lone surrogate in the path, the query or the body is a 400 naming the
 * field; in the body of a route whose body is never stored, it is data.
 */
async function rejectUnstorable (request: FastifyRequest) {
  const body = request.routeOptions.config.bodyNeverStored === true ? undefined : request.body
  for (const [where, input] of [['params', request.params], ['querystring', request.query], ['body', body]] as const) {
    const at = unstorablePath(input)
    if (at === null) continue
    const field = at.replaceAll('\u0000', '\\u0000').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd')
    throw Object.assign(new Error('input holds text that cannot be stored'), {
      statusCode: 400,
      validationContext: where,
      validation: [{ instancePath: field ? `/${field.split('.').join('/')}` : '', message: 'must not contain NUL (U+0000) or unpaired surrogates', params: {} }]
    })
  }
}

/**
 * Fastify's `frameworkErrors`: what the router refuses before any route runs (a path segment that is
 * not valid percent-encoding, a path parameter over `maxParamLength`) answers a 400 problem document
 * like any other bad input, instead of Fastify's own JSON (a 414 for the long parameter, which no
 * operation declares) that echoes the path.
 */
export function frameworkError (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (err.code === 'FST_ERR_BAD_URL') return sendProblem(request, reply, 400, 'MALFORMED_URL', 'the path is not valid percent-encoded UTF-8')
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendProblem(request, reply, 400, 'BAD_REQUEST', 'a path parameter is too long')
  request.log.error({ err }, 'router error')
  return sendProblem(request, reply, 500, 'INTERNAL', 'an internal error occurred; quote the requestId when reporting it')
}

async function problemPlugin (app: FastifyInstance) {
  app.addSchema(ProblemSchema)
  app.addHook('preValidation', rejectUnstorable)

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      const fields = validationFields(err)
      const summary = fields.map((f) => `${f.field || f.in} ${f.message}`).join('; ')
      return sendProblem(request, reply, 400, 'VALIDATION_FAILED', `invalid ${err.validationContext ?? 'input'}: ${summary}`, fields)
    }
    if (err instanceof FieldError) {
      return sendProblem(request, reply, 400, err.code, err.message, [{ in: 'body', field: err.field, message: err.message.slice(err.field.length + 2) }])
    }
    const known = FASTIFY_CODES[err.code]
    if (known) return sendProblem(request, reply, known.status, known.code, known.detail ?? err.message)
    if (isDatabaseUnavailable(err)) {
      request.log.warn({ err: { message: err.message, code: err.code } }, 'database unavailable')
      reply.header('retry-after', '1')
      return sendProblem(request, reply, 503, 'DATABASE_UNAVAILABLE', 'the database is unavailable or too slow right now; retry shortly')
    }
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return sendProblem(request, reply, status, err.code && /^[A-Z][A-Z0-9_]+$/.test(err.code) ? err.code : 'BAD_REQUEST', err.message)
    }
    if (status === 503) {
      // every 503 is a "retry shortly" (the audit log that cannot be written, above all), and says when;
      // only Datagate's own errors (a stable code) explain themselves: a library's message stays in the log
      reply.header('retry-after', '1')
      if (err.code && /^[A-Z][A-Z0-9_]+$/.test(err.code) && !err.code.startsWith('FST_')) return sendProblem(request, reply, 503, err.code, err.message)
      request.log.error({ err }, 'unavailable')
      return sendProblem(request, reply, 503, 'SERVICE_UNAVAILABLE', 'the service is unavailable right now; retry shortly')
    }
    // 5xx: log everything, tell the caller nothing about internals
    request.log.error({ err }, 'unhandled error')
    return sendProblem(request, reply, 500, 'INTERNAL', 'an internal error occurred; quote the requestId when reporting it')
  })

  app.setNotFoundHandler((request, reply) => {
    return sendProblem(request, reply, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)
  })
}

export default fp(problemPlugin, { name: 'problem', fastify: '5.x' })
