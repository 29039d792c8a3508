import createError from '@fastify/error'

/** No such consent, or one of another unit (404, not 403: a unit learns nothing of others' consents). */
export const ConsentNotFoundError = createError<[string]>('AUTHZ_CONSENT_NOT_FOUND', 'no consent with id %s', 404)
/** The consent was withdrawn already: a withdrawal happens once. */
export const ConsentWithdrawnError = createError<[string]>('AUTHZ_CONSENT_WITHDRAWN', 'consent %s is already withdrawn', 409)
/** The caller sees the consent (an auditor role) or holds an allowed role but may not act for its unit. */
export const ConsentForbiddenError = createError<[string]>('AUTHZ_CONSENT_FORBIDDEN', '%s', 403)
