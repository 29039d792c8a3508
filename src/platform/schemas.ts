import { Type, type Static, type TSchema } from 'typebox'

export const ProblemSchema = Type.Object({
  type: Type.String({ description: 'URI naming the kind of problem', examples: ['urn:problem:datagate:validation-failed'] }),
  title: Type.String({ description: 'short summary of the kind of problem' }),
  status: Type.Integer({ description: 'HTTP status code' }),
  detail: Type.String({ description: 'what went wrong this time, and how to fix it' }),
  code: Type.String({ description: 'stable machine-readable error code', examples: ['VALIDATION_FAILED'] }),
  instance: Type.Optional(Type.String({ description: 'the request path' })),
  requestId: Type.Optional(Type.String({ description: 'X-Request-Id of the failed request' })),
  errors: Type.Optional(Type.Array(Type.Object({
    in: Type.String({ description: 'body, querystring, params or headers' }),
    field: Type.String({ description: 'dotted path of the offending field; empty for the whole document' }),
    message: Type.String()
  }), { description: 'one entry per invalid field' }))
}, { $id: 'Problem', title: 'Problem', description: 'RFC 9457 problem document (application/problem+json)' })
export type Problem = Static<typeof ProblemSchema>

const problemDescriptions: Record<number, string> = {
  400: 'invalid input: `errors` names each field',
  401: 'missing, expired or unacceptable token',
  403: 'the caller\'s roles do not allow this',
  404: 'no such object, or not visible to the caller\'s unit',
  409: 'conflicts with the current state',
  413: 'request body too large',
  415: 'unsupported content type',
  429: 'rate limit exceeded',
  503: 'the database or a service is unavailable; retry later'
}

/** Response schemas for the given error statuses, all pointing at the shared Problem document. */
export function problems (...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {}
  for (const s of statuses) out[s] = Type.Ref('Problem', { description: problemDescriptions[s] ?? 'error' })
  return out
}

/** The statuses every authenticated route can answer besides its own. */
export const AUTHENTICATED_PROBLEMS = [400, 401, 403, 429, 503]

export const PaginationQuerySchema = {
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'page size (at most 200)' }),
  cursor: Type.Optional(Type.String({ maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'the `nextCursor` of the previous page' }))
}

export function pageOf<T extends TSchema> (item: T, description: string) {
  return Type.Object({
    data: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page; null on the last page' })
  }, { description })
}
