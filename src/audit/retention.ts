import type { Kysely } from 'kysely'
import type { Database } from '../db/database.js'
import type { SigningKey, VerificationKey } from '../platform/auth/keys.js'
import { microIso, signCheckpoint } from './hash-chain.js'
import type { AuditRepository } from './repository.js'
import { verifyChain } from './verify.js'
import type { AuditWriter } from './writer.js'

/** R6.1 and DESIGN.md: nothing younger than this may ever go, whatever AUDIT_RETENTION_DAYS says. */
export const MINIMUM_RETENTION_DAYS = 180

export interface PurgeResult {
  /** events deleted */
  deleted: number
  /** the last seq deleted; the signed checkpoint at it anchors what remains */
  through: string | null
  cutoff: string
}

/**
 * Deletes the oldest events, recorded before max(180, retentionDays) days ago, as a prefix of the
 * chain. The prefix is verified first, then a checkpoint signed at its last event keeps the rest
 * verifiable; the delete passes the append-only trigger only through its purge setting, and the
 * purge is itself an audit event.
 */
export async function purgeExpired (options: {
  db: Kysely<Database>
  repo: AuditRepository
  writer: AuditWriter
  signingKey: SigningKey | null
  verificationKey: VerificationKey
  retentionDays: number
  now?: Date
}): Promise<PurgeResult> {
  const { db, repo, writer, signingKey } = options
  const days = Math.max(MINIMUM_RETENTION_DAYS, options.retentionDays)
  const cutoff = microIso(new Date((options.now ?? new Date()).getTime() - days * 86_400_000))
  const none = { deleted: 0, through: null, cutoff }
  if (!signingKey) return none // the boundary could not be signed: keep everything
  const bounds = await repo.bounds()
  const through = await repo.purgeableThrough(cutoff)
  if (bounds.first === null || through === null || BigInt(through) < BigInt(bounds.first)) return none
  const verification = await verifyChain(repo, options.verificationKey, { to: Number(through) })
  if (!verification.ok) throw new Error(`audit purge refused: the chain is broken at ${verification.firstBroken} (${verification.reason})`)
  const [boundary] = await repo.chainPage(String(BigInt(through) - 1n), through, 1)
  const signed = (await repo.checkpoints({ fromSeq: through, toSeq: through })).length > 0
  const deleted = await db.transaction().execute(async (trx) => {
    if (!signed) {
      const claim = { seq: through, headHash: boundary!.hash, hashAlg: boundary!.hashAlg, createdAt: microIso(new Date()) }
      await repo.insertCheckpoint(trx, {
        ...claim, reason: 'purge', keyId: signingKey.kid, algorithm: signingKey.algorithm, signature: signCheckpoint(signingKey, claim)
      })
    }
    return await repo.purge(trx, through)
  })
  await writer.append({
    service: 'audit',
    action: 'purge',
    operation: 'audit.retention.purge',
    actor: { sub: 'datagate', roles: [] },
    objectType: 'audit_log',
    rows: deleted,
    details: { through, cutoff, retentionDays: days }
  })
  return { deleted, through, cutoff }
}
