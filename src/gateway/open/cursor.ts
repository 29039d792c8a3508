import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { MaskingKey } from '../../masking/index.js'
import { FieldError } from '../../platform/errors.js'

/**
 * Keyset cursors of open downloads. The last record key of a page may itself be personal data (a
 * student number), and the public must never see it: the cursor is the key sealed with AES-256-GCM
 * under a key of the dataset. A changed cursor, or one of another dataset, is a 400 naming `cursor`.
 */
export function sealOpenCursor (key: MaskingKey, dataset: string, recordKey: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key.derive('open-cursor', dataset), iv)
  const body = Buffer.concat([cipher.update(recordKey, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
}

export function openOpenCursor (key: MaskingKey, dataset: string, cursor: string): string {
  const bytes = Buffer.from(cursor, 'base64url')
  if (bytes.length >= 28 && bytes.length <= 2048) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.derive('open-cursor', dataset), bytes.subarray(0, 12))
      decipher.setAuthTag(bytes.subarray(bytes.length - 16))
      return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8')
    } catch {
      // a wrong tag: changed, or sealed for another dataset
    }
  }
  throw new FieldError('cursor', 'is not a cursor of this dataset\'s download; start again without it')
}
