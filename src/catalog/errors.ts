import createError from '@fastify/error'

export const UnitNotFoundError = createError<[string]>('CATALOG_UNIT_NOT_FOUND', 'no unit with code %s', 404)
export const UnitExistsError = createError<[string]>('CATALOG_UNIT_EXISTS', 'a unit with code %s already exists', 409)
