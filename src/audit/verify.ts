import type { Kysely } from 'kysely'
import type { Database } from '../db/database.js'
import type { VerificationKey } from '../platform/auth/keys.js'
import { GENESIS, eventHash, verifyCheckpoint, type ChainedContent } from './hash-chain.js'
import { createAuditRepository, type AuditRepository, type CheckpointRow, type StoredEvent } from './repository.js'

export interface Verification {
  ok: boolean
  /** events whose hash and link were recomputed */
  checked: number
  /** seq of the first event (or checkpoint) found wrong; null when ok */
  firstBroken: number | null
  reason: string | null
  /** signed checkpoints inside the range whose signature and head hash matched */
  checkpoints: number
  from: number | null
  to: number | null
}

const HASHES = new Set(['sha256', 'sm3'])
const PAGE = 2000

/**
 * Recomputes the chain over [from, to] (default: all of it): every seq present once and in order,
 * every link equal to the previous hash, every hash equal to hash(prev ‖ content), every signed
 * checkpoint's signature valid and its head hash equal to the event's. A changed, removed,
 * reordered or inserted event breaks a link; a chain recomputed after a change, or a truncated
 * tail, disagrees with the last signed checkpoint (and the chain head) before it.
 */
export async function verifyChain (repo: AuditRepository, key: VerificationKey, range: { from?: number, to?: number } = {}): Promise<Verification> {
  const bounds = await repo.bounds()
  const head = await repo.head() // after bounds: an honest head is never behind the last event
  const checkpoints = await repo.checkpoints({
    ...(range.from !== undefined ? { fromSeq: String(Math.max(range.from - 1, 0)) } : {}),
    ...(range.to !== undefined ? { toSeq: String(range.to) } : {})
  })
  const lastCheckpoint = checkpoints.length > 0 ? BigInt(checkpoints[checkpoints.length - 1]!.seq) : 0n
  const first = bounds.first === null ? null : BigInt(bounds.first)
  const last = bounds.last === null ? 0n : BigInt(bounds.last)
  const headSeq = BigInt(head.seq)
  const end = range.to !== undefined ? BigInt(range.to) : [headSeq, lastCheckpoint, last].reduce((a, b) => (a > b ? a : b))
  const start = BigInt(range.from ?? 1) > (first ?? 1n) ? BigInt(range.from ?? 1) : (first ?? 1n)
  const result = (firstBroken: bigint | null, reason: string | null, checked: number, verified: number): Verification => ({
    ok: firstBroken === null,
    checked,
    firstBroken: firstBroken === null ? null : Number(firstBroken),
    reason,
    checkpoints: verified,
    from: end >= start ? Number(start) : null,
    to: end >= start ? Number(end) : null
  })

  // signatures first: a checkpoint the platform key did not sign is itself a break
  const signed = new Map<string, CheckpointRow>()
  for (const c of checkpoints) {
    if (c.keyId !== key.kid || c.algorithm !== key.algorithm || !verifyCheckpoint(key, c, c.signature)) {
      return result(BigInt(c.seq), `checkpoint ${c.seq} is not signed by the platform key`, 0, 0)
    }
    signed.set(c.seq, c)
  }
  if (end < start) return result(null, null, 0, 0)

  // the hash the first event in range links to
  let prev: string
  if (start === 1n) {
    prev = GENESIS
  } else if (first !== null && start === first) {
    // the chain starts after a retention purge: the checkpoint at the boundary vouches for the link
    const anchor = signed.get(String(start - 1n))
    if (!anchor) return result(start, `events before ${start} are gone and no signed checkpoint marks the boundary`, 0, 0)
    prev = anchor.headHash
  } else {
    const before = await repo.chainPage(String(start - 2n), String(start - 1n), 1)
    if (before.length === 0) return result(start - 1n, `event ${start - 1n} is missing`, 0, 0)
    prev = before[0]!.hash
  }

  let expected = start
  let checked = 0
  let verified = signed.has(String(start - 1n)) && start === first && start !== 1n ? 1 : 0
  while (expected <= end) {
    const page = await repo.chainPage(String(expected - 1n), String(end), PAGE)
    if (page.length === 0) break
    for (const event of page) {
      const problem = check(event, expected, prev)
      if (problem) return result(expected, problem, checked, verified)
      const checkpoint = signed.get(event.seq)
      if (checkpoint) {
        if (checkpoint.headHash !== event.hash || checkpoint.hashAlg !== event.hashAlg) {
          return result(expected, `event ${event.seq} differs from signed checkpoint ${checkpoint.seq}`, checked, verified)
        }
        verified++
      }
      prev = event.hash
      checked++
      expected++
    }
  }
  if (expected <= end) return result(expected, `events ${expected} to ${end} are missing (truncated)`, checked, verified)
  if (range.to === undefined && end === headSeq && head.hash !== prev) {
    return result(end, 'the chain head differs from the last event', checked, verified)
  }
  return result(null, null, checked, verified)
}

function check (event: StoredEvent, expected: bigint, prev: string): string | null {
  if (BigInt(event.seq) !== expected) return `event ${expected} is missing or out of order`
  if (event.prevHash !== prev) return `event ${event.seq} does not link to the previous event`
  if (!HASHES.has(event.hashAlg)) return `event ${event.seq} names an unknown hash`
  const { prevHash: _prev, hash, ...content } = event
  if (eventHash(event.hashAlg, prev, content satisfies ChainedContent) !== hash) return `event ${event.seq} does not match its hash`
  return null
}

/** The whole chain of a database verified (the backup CLI's check after a restore). */
export async function verifyAuditChain (db: Kysely<Database>, key: VerificationKey): Promise<Verification> {
  return await verifyChain(createAuditRepository(db), key)
}
