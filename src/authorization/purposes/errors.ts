import createError from '@fastify/error'

export const PurposeNotFoundError = createError<[string]>('AUTHZ_PURPOSE_NOT_FOUND', 'no purpose with code %s', 404)
export const PurposeExistsError = createError<[string]>('AUTHZ_PURPOSE_EXISTS', 'a purpose with code %s exists already (retired purposes keep their code)', 409)
