import createError from '@fastify/error'

export const ExportNotFoundError = createError<[string]>('EXPORT_NOT_FOUND', 'no export with id %s', 404)
export const ExportNotReadyError = createError<[string]>('EXPORT_NOT_READY', '%s', 409)
export const ExportGoneError = createError<[string]>('EXPORT_GONE', '%s', 410)
export const ExportBusyError = createError<[string]>('EXPORT_BUSY', '%s', 429)
