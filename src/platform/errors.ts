import createError from '@fastify/error'

/**
 * Platform-wide error codes. Services declare their own (`CATALOG_UNIT_NOT_FOUND`…) with the same
 * factory; one handler (problem.ts) turns every error into an RFC 9457 problem document.
 */
export const AuthTokenMissingError = createError('AUTH_TOKEN_MISSING', 'a bearer token is required', 401)
export const AuthTokenInvalidError = createError<[string]>('AUTH_TOKEN_INVALID', 'the token is not acceptable: %s', 401)
export const AuthForbiddenError = createError<[string]>('AUTH_FORBIDDEN', '%s', 403)
export const AuthClientInvalidError = createError('AUTH_CLIENT_INVALID', 'unknown client, wrong secret or disabled client', 401)
export const NotFoundError = createError<[string]>('NOT_FOUND', '%s', 404)
export const ConflictError = createError<[string]>('CONFLICT', '%s', 409)
export const BadRequestError = createError<[string]>('BAD_REQUEST', '%s', 400)
export const ServiceUnavailableError = createError<[string]>('SERVICE_UNAVAILABLE', '%s', 503)

/** A 400 that names the field at fault, for rules a schema cannot express. */
export class FieldError extends Error {
  readonly statusCode = 400
  readonly code = 'VALIDATION_FAILED'
  constructor (readonly field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'FieldError'
  }
}
