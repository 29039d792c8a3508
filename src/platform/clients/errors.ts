import createError from '@fastify/error'

/**
 * A vendor client whose confidentiality agreement has ended (R1.1). Only a caller that presented the
 * client's right secret learns this; every other failure stays AUTH_CLIENT_INVALID.
 */
export const AuthVendorAgreementExpiredError = createError('AUTH_VENDOR_AGREEMENT_EXPIRED',
  'the confidentiality agreement of this vendor client has expired: no token is issued until a renewed agreement is recorded', 401)
export const ClientNotVendorError = createError<[string]>('CLIENT_NOT_VENDOR',
  'client %s is an internal client: only vendor clients have a confidentiality agreement', 409)
