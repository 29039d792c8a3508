import createError from '@fastify/error'

/** The caller holds a reviewing role but may not review this dataset, or not at this point. */
export const OpenReviewForbiddenError = createError<[string]>('CATALOG_OPEN_REVIEW_FORBIDDEN', '%s', 403)
/** A level reviewed before the level below it approved the round. */
export const OpenReviewOrderError = createError<[string]>('CATALOG_OPEN_REVIEW_ORDER', '%s', 409)
/** A level that already reviewed this round. */
export const OpenReviewRepeatedError = createError<[string]>('CATALOG_OPEN_REVIEW_REPEATED', '%s', 409)
/** The dataset cannot be published to the open catalog as it stands (not published, or not open). */
export const NotOpenableError = createError<[string]>('CATALOG_NOT_OPENABLE', '%s', 409)
