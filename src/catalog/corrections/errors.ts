import createError from '@fastify/error'

export const CorrectionNotFoundError = createError<[string]>('CATALOG_CORRECTION_NOT_FOUND', 'no correction with id %s', 404)
export const CorrectionForbiddenError = createError<[string]>('CATALOG_CORRECTION_FORBIDDEN', '%s', 403)
export const CorrectionStateError = createError<[string]>('CATALOG_CORRECTION_STATE', '%s', 409)
