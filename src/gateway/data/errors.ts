import createError from '@fastify/error'

export const DataDatasetNotFoundError = createError<[string]>('DATA_DATASET_NOT_FOUND', 'no dataset %s', 404)
export const FieldsNotGrantedError = createError<[string]>('DATA_FIELDS_NOT_GRANTED', '%s', 403)
export const QuotaExceededError = createError<[string]>('DATA_QUOTA_EXCEEDED', '%s', 429)
