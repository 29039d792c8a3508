import { createHmac } from 'node:crypto'
import type { MaskingKey } from '../../masking/index.js'

/**
 * Watermark keys are never stored: an export's key is derived from the platform masking secret and
 * the export id, and the row records only how (`WATERMARK_KEY_REF`) and a check value, so that a
 * trace can tell an export whose key today's secret no longer derives (the secret was replaced).
 */
export const WATERMARK_KEY_REF = 'masking-secret:watermark:v1'

export const watermarkKey = (key: MaskingKey, exportId: string): Buffer => key.derive('watermark', exportId)

export const watermarkCheck = (exportKey: Buffer): string => createHmac('sha256', exportKey).update('check').digest('hex').slice(0, 16)

/** The one key of decoy cell digests (see decoys.ts: cellDigest). */
export const decoyDigestKey = (key: MaskingKey): Buffer => key.derive('watermark-decoy', 'v1')

/** The key that seals an export's file at rest. */
export const exportFileKey = (key: MaskingKey, exportId: string): Buffer => key.derive('export-file', exportId)
