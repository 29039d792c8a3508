import { createHash, timingSafeEqual } from 'node:crypto'
import { newSecret } from '../../platform/crypto.js'

/**
 * The receipt an outside applicant follows its request with: 256 random bits, shown once. Only its
 * SHA-256 is stored: a random secret of that length needs no slow hash, and a leaked table reveals
 * no receipt.
 */
export function newReceipt (): { receipt: string, sha256: string } {
  const receipt = newSecret()
  return { receipt, sha256: digest(receipt) }
}

export function receiptMatches (receipt: string, sha256: string): boolean {
  const given = Buffer.from(digest(receipt), 'hex')
  const stored = Buffer.from(sha256, 'hex')
  return given.length === stored.length && timingSafeEqual(given, stored)
}

function digest (receipt: string): string {
  return createHash('sha256').update(receipt).digest('hex')
}
