import createError from '@fastify/error'

/** Not in the open catalog, or no such dataset: the same answer, so that nothing unopened is revealed. */
export const OpenDatasetNotFoundError = createError<[string]>('OPEN_DATASET_NOT_FOUND', 'no open dataset %s', 404)
/** Conditional-open data goes only to approved applicants. */
export const OpenDatasetConditionalError = createError<[string]>('OPEN_DATASET_CONDITIONAL', '%s', 403)
