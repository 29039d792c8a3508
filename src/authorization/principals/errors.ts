import createError from '@fastify/error'

export const AlreadyOffboardedError = createError<[string, string, string]>('AUTHZ_ALREADY_OFFBOARDED',
  '%s already left unit %s (offboarded at %s)', 409)
export const OffboardingNotFoundError = createError<[string]>('AUTHZ_OFFBOARDING_NOT_FOUND', 'no offboarding of %s is recorded', 404)
