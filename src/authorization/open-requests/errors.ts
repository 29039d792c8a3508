import createError from '@fastify/error'

/** No such request, one of another unit's datasets (for a steward), or a wrong receipt. */
export const OpenRequestNotFoundError = createError<[string]>('AUTHZ_OPEN_REQUEST_NOT_FOUND', 'no open request with id %s', 404)
/** The request was already decided, or its dataset left the open catalog. */
export const OpenRequestStateError = createError<[string]>('AUTHZ_OPEN_REQUEST_STATE', '%s', 409)
