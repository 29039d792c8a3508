import createError from '@fastify/error'

export const DestructionNotFoundError = createError<[string]>('CATALOG_DESTRUCTION_NOT_FOUND', 'no destruction with id %s', 404)
export const CertificateNotFoundError = createError<[string]>('CATALOG_CERTIFICATE_NOT_FOUND', '%s', 404)
/** the proposal is not in the state the step needs (not approved, not witnessed, already decided) */
export const DestructionStateError = createError<[string]>('CATALOG_DESTRUCTION_STATE', '%s', 409)
export const DestructionReviewedError = createError<[string]>('CATALOG_DESTRUCTION_ALREADY_REVIEWED', '%s', 409)
/** the caller holds the role but may not take this step here (separation of duties, R1.2, R10.2) */
export const DestructionForbiddenError = createError<[string]>('CATALOG_DESTRUCTION_FORBIDDEN', '%s', 403)
