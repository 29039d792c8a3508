import type { Kysely } from 'kysely'
import type { Database } from '../db/database.js'
import type { SigningKey, VerificationKey } from '../platform/auth/keys.js'
import { microIso, signCheckpoint, type CheckpointClaim } from './hash-chain.js'
import type { AuditPartition, AuditRepository } from './repository.js'
import { verifyChain } from './verify.js'
import type { AuditWriter } from './writer.js'

/** R6.1: nothing younger than this may ever go, whatever AUDIT_RETENTION_DAYS says. */
export const MINIMUM_RETENTION_DAYS = 180

export interface PurgeResult {
  /** events dropped */
  deleted: number
  /** the last seq dropped; the signed checkpoint at it anchors what remains */
  through: string | null
  cutoff: string
  /** the monthly partitions dropped, oldest first */
  partitions: string[]
}

const max = (a: bigint | null, b: string | null) => (b === null ? a : a === null || BigInt(b) > a ? BigInt(b) : a)
const min = (a: bigint | null, b: string | null) => (b === null ? a : a === null || BigInt(b) < a ? BigInt(b) : a)

/**
 * The months that may go: those that ended by the cutoff (a month straddling it stays whole), oldest
 * first, cut back until the events they hold all come before every event kept, so that what goes
 * is a prefix of the chain even if a writer's clock put an event in the wrong month.
 */
export function expiredMonths (partitions: AuditPartition[], cutoff: string): { names: string[], through: string | null } {
  // both UTC to the microsecond, in one fixed-width form: they compare as text
  const ended = partitions.filter((p) => p.to !== null && p.to <= cutoff)
  for (let n = ended.length; n > 0; n--) {
    const going = ended.slice(0, n)
    const through = going.reduce<bigint | null>((m, p) => max(m, p.lastSeq), null)
    const keptFirst = partitions.filter((p) => !going.includes(p)).reduce<bigint | null>((m, p) => min(m, p.firstSeq), null)
    if (through === null || keptFirst === null || through < keptFirst) {
      return { names: going.map((p) => p.name), through: through === null ? null : String(through) }
    }
  }
  return { names: [], through: null }
}

/**
 * Drops the monthly partitions that ended before max(180, retentionDays) days ago, a prefix of the
 * chain. The prefix is verified first, a checkpoint signed at its last event keeps the rest
 * verifiable, the database drops them only on its own terms (migrations/0005
 * `audit_drop_partitions`), and the purge is itself an audit event.
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
  const none = { deleted: 0, through: null, cutoff, partitions: [] }
  if (!signingKey) return none // the boundary could not be signed: keep everything
  const { names, through } = expiredMonths(await repo.partitions(), cutoff)
  if (names.length === 0) return none
  let claim: CheckpointClaim | null = null
  if (through !== null) {
    const verification = await verifyChain(repo, options.verificationKey, { to: Number(through) })
    if (!verification.ok) throw new Error(`audit purge refused: the chain is broken at ${verification.firstBroken} (${verification.reason})`)
    const [boundary] = await repo.chainPage(String(BigInt(through) - 1n), through, 1)
    claim = { seq: through, headHash: boundary!.hash, hashAlg: boundary!.hashAlg, createdAt: microIso(new Date()) }
  }
  const dropped = await db.transaction().execute(async (trx) => {
    if (claim) {
      await repo.insertCheckpoint(trx, {
        ...claim, reason: 'purge', keyId: signingKey.kid, algorithm: signingKey.algorithm, signature: signCheckpoint(signingKey, claim)
      }, { ifAbsent: true })
    }
    return await repo.dropPartitions(trx, names, through)
  })
  if (dropped.length === 0) return none // another process purged them first
  const deleted = dropped.reduce((n, p) => n + (p.firstSeq === null ? 0 : Number(BigInt(p.lastSeq!) - BigInt(p.firstSeq) + 1n)), 0)
  const partitions = dropped.map((p) => p.name)
  await writer.append({
    service: 'audit',
    action: 'purge',
    operation: 'audit.retention.purge',
    actor: { sub: 'datagate', roles: [] },
    objectType: 'audit_log',
    rows: deleted,
    details: { through, cutoff, retentionDays: days, partitions }
  })
  return { deleted, through, cutoff, partitions }
}
