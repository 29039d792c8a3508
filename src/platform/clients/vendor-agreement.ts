import type { ClientKind, ServiceClient } from '../../db/database.js'
import { FieldError } from '../errors.js'
import type { Agreement, CreateClient } from './schemas.js'

/** What a new client is: its kind and, for a vendor, the provider and its agreement. */
export interface ClientKindValues {
  kind: ClientKind
  vendor: { name: string, agreement: Agreement } | null
}

/**
 * An outside technical service provider works only under a signed confidentiality agreement (R1.1,
 * 001 §12, 002 §16): a vendor client is registered with one that is signed and still running.
 */
export function kindOf (body: Pick<CreateClient, 'kind' | 'vendor'>, now = new Date()): ClientKindValues {
  const kind = body.kind ?? (body.vendor ? 'vendor' : 'internal')
  if (kind === 'internal') {
    if (body.vendor) throw new FieldError('vendor', 'only a vendor client (kind vendor) has a provider and a confidentiality agreement')
    return { kind, vendor: null }
  }
  if (!body.vendor) throw new FieldError('vendor', 'a vendor client needs its provider and the confidentiality agreement it signed')
  checkAgreement(body.vendor.agreement, 'vendor.agreement.', now)
  return { kind, vendor: body.vendor }
}

/** An agreement must be signed already, end after it was signed, and not have ended. */
export function checkAgreement (agreement: Agreement, prefix: string, now = new Date()): void {
  const signed = Date.parse(agreement.signedAt)
  const expires = Date.parse(agreement.expiresAt)
  if (expires <= now.getTime()) throw new FieldError(`${prefix}expiresAt`, 'the agreement has already expired: record a running one')
  if (signed > now.getTime()) throw new FieldError(`${prefix}signedAt`, 'lies in the future: record an agreement once it is signed')
  if (signed >= expires) throw new FieldError(`${prefix}expiresAt`, 'must be after signedAt')
}

/**
 * The lifetime of a token issued now: the configured one, cut so that no token of a vendor client
 * outlives its agreement. Null when the agreement has ended (no token at all).
 */
export function tokenLifetime (client: Pick<ServiceClient, 'kind' | 'agreement_expires_at'>, ttlSeconds: number, now = Date.now()): number | null {
  if (client.kind !== 'vendor') return ttlSeconds
  // a vendor row always has its expiry (a check constraint); a missing one is treated as ended
  const left = Math.floor(((client.agreement_expires_at?.getTime() ?? 0) - now) / 1000)
  return left < 1 ? null : Math.min(ttlSeconds, left)
}
