import type { MaskingKey } from '../../masking/index.js'
import { openKeyCursor, sealKeyCursor } from '../../platform/aead.js'
import { FieldError } from '../../platform/errors.js'

/**
 * Keyset cursors of open downloads. The last record key of a page may itself be personal data (a
 * student number), and the public must never see it: the cursor is the key sealed with AES-256-GCM
 * under a key of the dataset. A changed cursor, or one of another dataset, is a 400 naming `cursor`.
 */
export function sealOpenCursor (key: MaskingKey, dataset: string, recordKey: string): string {
  return sealKeyCursor(key.derive('open-cursor', dataset), recordKey)
}

export function openOpenCursor (key: MaskingKey, dataset: string, cursor: string): string {
  const recordKey = openKeyCursor(key.derive('open-cursor', dataset), cursor)
  if (recordKey === null) throw new FieldError('cursor', 'is not a cursor of this dataset\'s download; start again without it')
  return recordKey
}
