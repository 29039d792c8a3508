import { createHash, randomUUID } from 'node:crypto'
import { canonicalJson } from '../../platform/canonical-json.js'
import type { Dataset, Destruction, DestructionCertificateRow, DestructionReview } from '../../db/database.js'
import { encryptedFields } from '../encryption/codec.js'
import type { Certificate } from './schemas.js'

const hex = (algorithm: 'sha256' | 'sm3', text: string) => createHash(algorithm).update(text, 'utf8').digest('hex')

/**
 * Digests of the destroyed records' keys, each followed by "\n", in byte order: what
 * `printf '%s\n' "${keys[@]}" | LC_ALL=C sort | sha256sum` gives for the same keys. Whoever holds a
 * list of keys can check it against a certificate; the certificate holds no key.
 */
export function keyDigests () {
  const sha256 = createHash('sha256')
  const sm3 = createHash('sm3')
  return {
    add (keys: readonly string[]) {
      for (const key of keys) {
        sha256.update(`${key}\n`, 'utf8')
        sm3.update(`${key}\n`, 'utf8')
      }
    },
    digest: () => ({ order: 'bytewise' as const, sha256: sha256.digest('hex'), sm3: sm3.digest('hex') })
  }
}

export interface Execution {
  destruction: Destruction
  dataset: Dataset
  reviews: readonly DestructionReview[]
  rowsDeleted: number
  recordKeys: Certificate['recordKeys']
  executor: { sub: string, unit: string }
  executedAt: Date
  dataKey: Certificate['dataKey']
  grantsRevoked: string[]
  statusAfter: string
}

const ROLE_OF_PARTY = { producer: 'steward', office: 'security_admin' } as const

/** What remains of the data outside the live database after this destruction, said as it is. */
function residualCopies (e: Execution): string {
  const earlier = `backups taken before ${e.executedAt.toISOString()}`
  if (e.destruction.scope !== 'all') {
    return `Only part of the dataset was destroyed, so its data key stays in use: ${earlier} still hold the deleted records until they expire.`
  }
  if (e.dataKey === null) {
    return `The dataset had no data key (no encrypted field held a value), so none was destroyed: ${earlier} still hold its records until they expire.`
  }
  const encrypted = encryptedFields(e.dataset)
  return `The data key was destroyed, so the encrypted fields (${encrypted.join(', ')}) cannot be opened from any copy that lacks it; ` +
    `${earlier} still hold the data key wrapped by master key ${e.dataKey.masterFingerprint ?? '(unknown)'}, and they become unreadable ` +
    'for those fields once that master key is rotated away (datagate keys rotate) and destroyed. Fields stored in the clear remain in ' +
    'those backups until they expire.'
}

/** The content of a certificate and its digests (SHA-256 and SM3 of its canonical JSON). */
export function buildCertificate (e: Execution): { id: string, content: Omit<Certificate, 'digest'>, digest: Certificate['digest'] } {
  const d = e.destruction
  const id = randomUUID()
  const content: Omit<Certificate, 'digest'> = {
    id,
    destruction: d.id,
    dataset: e.dataset.code,
    datasetName: e.dataset.name,
    producerUnit: d.producer_unit,
    scope: d.scope,
    filter: d.row_filter,
    cutoff: d.cutoff?.toISOString() ?? null,
    reason: d.reason,
    rowsDeleted: e.rowsDeleted,
    recordKeys: e.recordKeys,
    proposedBy: { sub: d.proposed_by, unit: d.proposed_unit },
    proposedAt: d.proposed_at.toISOString(),
    approvals: e.reviews.filter((r) => r.decision === 'approve').map((r) => ({
      party: r.party, role: ROLE_OF_PARTY[r.party], sub: r.reviewer_sub, unit: r.reviewer_unit, at: r.reviewed_at.toISOString(), reason: r.reason
    })),
    witness: { sub: d.witness_sub!, unit: d.witness_unit!, at: d.witnessed_at!.toISOString(), note: d.witness_note },
    executor: e.executor,
    executedAt: e.executedAt.toISOString(),
    method: e.dataKey ? 'delete+crypto-shred' : 'delete',
    dataKey: e.dataKey,
    grantsRevoked: e.grantsRevoked,
    datasetStatus: { before: e.dataset.status, after: e.statusAfter },
    residualCopies: residualCopies(e)
  }
  const text = canonicalJson(content)
  return { id, content, digest: { sha256: hex('sha256', text), sm3: hex('sm3', text) } }
}

/** A stored certificate as the API gives it. */
export function toCertificateView (row: DestructionCertificateRow): Certificate {
  return { ...row.content, digest: { sha256: row.digest_sha256, sm3: row.digest_sm3 } }
}

/** Whether a certificate's digests still match its content (the API's readers can check the same). */
export function certificateIntact (certificate: Certificate): boolean {
  const { digest, ...content } = certificate
  const text = canonicalJson(content)
  return hex('sha256', text) === digest.sha256 && hex('sm3', text) === digest.sm3
}
