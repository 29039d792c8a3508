import createError from '@fastify/error'

export const TooManyRowsError = createError<[number, number]>('MASKING_TOO_MANY_ROWS',
  'at most %d rows per call (got %d): split the rows into several calls', 413)
export const PolicyVersionConflictError = createError<[number, number]>('MASKING_POLICY_VERSION_CONFLICT',
  'the policy is at version %d, not %d: read it again and reapply your change', 409)
