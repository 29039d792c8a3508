import createError from '@fastify/error'

export const ShareRequestNotFoundError = createError<[string]>('AUTHZ_SHARE_REQUEST_NOT_FOUND', 'no share request with id %s', 404)
export const ShareRequestStateError = createError<[string]>('AUTHZ_SHARE_REQUEST_STATE', '%s', 409)
export const ReviewerForbiddenError = createError<[string]>('AUTHZ_REVIEWER_FORBIDDEN', '%s', 403)
export const AlreadyReviewedError = createError<[string]>('AUTHZ_ALREADY_REVIEWED', '%s', 409)
export const RequestExpiredError = createError<[string]>('AUTHZ_REQUEST_EXPIRED', '%s', 409)
export const NotConsumerError = createError<[string]>('AUTHZ_NOT_CONSUMER', '%s', 403)
export const AgreementNotFoundError = createError<[string]>('AUTHZ_AGREEMENT_NOT_FOUND', 'no agreement with id %s', 404)
export const AgreementStateError = createError<[string]>('AUTHZ_AGREEMENT_STATE', '%s', 409)
export const PartyForbiddenError = createError<[string]>('AUTHZ_PARTY_FORBIDDEN', '%s', 403)
export const GrantNotFoundError = createError<[string]>('AUTHZ_GRANT_NOT_FOUND', 'no grant with id %s', 404)
export const GrantStateError = createError<[string]>('AUTHZ_GRANT_STATE', '%s', 409)
