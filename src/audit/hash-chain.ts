import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { canonicalJson } from '../platform/canonical-json.js'
import type { SigningKey, VerificationKey } from '../platform/auth/keys.js'

export type HashAlgorithm = 'sha256' | 'sm3'

/** The `prev_hash` of the first event ever sealed. */
export const GENESIS = '0'.repeat(64)

/**
 * What an event's hash covers: every stored column but the two hashes, in text form exactly as the
 * database gives it back (timestamps to the microsecond in UTC, bigints as decimal strings), so the
 * writer and the verifier hash the same bytes.
 */
export interface ChainedContent {
  seq: string
  occurredAt: string
  recordedAt: string
  service: string
  action: string
  operation: string
  outcome: string
  actorSub: string
  actorUnit: string | null
  actorRoles: string[]
  actorClient: string | null
  actorIp: string | null
  objectType: string | null
  objectId: string | null
  dataset: string | null
  fields: string[] | null
  rows: string | null
  grantId: string | null
  requestId: string | null
  domainEventId: string | null
  details: unknown
  hashAlg: string
}

/**
 * hash(prev ‖ content): the link that makes a change, removal or reordering of any event visible.
 * The content is a JSON array in a fixed column order, then the details in canonical JSON.
 */
export function eventHash (algorithm: string, prevHash: string, c: ChainedContent): string {
  const columns = JSON.stringify([
    c.seq, c.occurredAt, c.recordedAt, c.service, c.action, c.operation, c.outcome, c.actorSub, c.actorUnit, c.actorRoles,
    c.actorClient, c.actorIp, c.objectType, c.objectId, c.dataset, c.fields, c.rows, c.grantId, c.requestId, c.domainEventId, c.hashAlg
  ])
  return createHash(algorithm).update(`${prevHash}\n${columns}\n${canonicalJson(c.details)}`).digest('hex')
}

/** A Date as PostgreSQL prints a timestamptz in UTC to the microsecond (see repository `TIME`). */
export function microIso (date: Date): string {
  return `${date.toISOString().slice(0, 23)}000Z`
}

export interface CheckpointClaim {
  seq: string
  headHash: string
  hashAlg: string
  createdAt: string
}

function checkpointMessage (c: CheckpointClaim): Buffer {
  return Buffer.from(`datagate-audit-checkpoint/v1\n${c.seq}\n${c.headHash}\n${c.hashAlg}\n${c.createdAt}`)
}

/** Signs a chain head with the platform key (Ed25519, or ES256 in IEEE P1363 form), base64url. */
export function signCheckpoint (key: SigningKey, claim: CheckpointClaim): string {
  const privateKey = createPrivateKey(key.privatePem)
  const digest = key.algorithm === 'EdDSA' ? null : 'sha256'
  return sign(digest, checkpointMessage(claim), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')
}

export function verifyCheckpoint (key: VerificationKey, claim: CheckpointClaim, signature: string): boolean {
  const digest = key.algorithm === 'EdDSA' ? null : 'sha256'
  try {
    return verify(digest, checkpointMessage(claim), { key: createPublicKey(key.publicPem), dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'))
  } catch {
    return false
  }
}
