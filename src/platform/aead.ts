import { createCipheriv, createDecipheriv, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto'

/**
 * Authenticated encryption with a 32-byte key, in two suites:
 * - `aes-256-gcm`: AES-256 in GCM mode (12-byte nonce, 16-byte tag);
 * - `sm4`: SM4-CTR encrypt-then-MAC with HMAC-SM3 (Node's OpenSSL has SM4, but no SM4-GCM), the key
 *   split by HMAC-SM3 into an encryption key and a MAC key; the MAC covers the suite, the nonce,
 *   the associated data and the ciphertext.
 *
 * A sealed blob is `suite byte ‖ nonce ‖ ciphertext ‖ tag`, so it says how to open it: data written
 * under one suite stays readable after the deployment chooses the other.
 */
export const AEAD_SUITES = ['aes-256-gcm', 'sm4'] as const
export type AeadSuite = typeof AEAD_SUITES[number]

const SUITE_BYTE: Record<AeadSuite, number> = { 'aes-256-gcm': 1, sm4: 2 }
const GCM_NONCE = 12
const GCM_TAG = 16
const SM4_NONCE = 16
const SM4_TAG = 32

export class AeadError extends Error {
  constructor (message = 'the data cannot be decrypted: wrong key, or it was changed') {
    super(message)
    this.name = 'AeadError'
  }
}

const sm4Keys = new WeakMap<Buffer, { enc: Buffer, mac: Buffer }>()
function sm4KeysOf (key: Buffer) {
  let k = sm4Keys.get(key)
  if (!k) {
    k = {
      enc: createHmac('sm3', key).update('datagate-sm4-enc').digest().subarray(0, 16),
      mac: createHmac('sm3', key).update('datagate-sm4-mac').digest()
    }
    sm4Keys.set(key, k)
  }
  return k
}

function sm4Mac (mac: Buffer, nonce: Buffer, aad: Buffer | undefined, body: Buffer): Buffer {
  const len = Buffer.alloc(8)
  len.writeBigUInt64BE(BigInt(aad?.length ?? 0))
  return createHmac('sm3', mac).update(Buffer.of(SUITE_BYTE.sm4)).update(nonce).update(len).update(aad ?? Buffer.alloc(0)).update(body).digest()
}

function checkKey (key: Buffer) {
  if (key.length !== 32) throw new Error('an AEAD key is 32 bytes')
}

/**
 * Nonces cut from a pool of random bytes refilled a few kilobytes at a time: the same CSPRNG output
 * as randomBytes per seal, without a call into it per record (ingest seals thousands a batch).
 * Every nonce is used once, and at once (copied into the blob before the next seal).
 */
const NONCE_POOL = 4096
const noncePool = Buffer.alloc(NONCE_POOL)
let nonceAt = NONCE_POOL
export function freshNonce (length: number): Buffer {
  if (nonceAt + length > NONCE_POOL) {
    randomFillSync(noncePool)
    nonceAt = 0
  }
  nonceAt += length
  return noncePool.subarray(nonceAt - length, nonceAt)
}

export function seal (suite: AeadSuite, key: Buffer, plaintext: Buffer, aad?: Buffer): Buffer {
  checkKey(key)
  if (suite === 'aes-256-gcm') {
    const iv = freshNonce(GCM_NONCE)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    if (aad) cipher.setAAD(aad)
    // GCM is a stream mode: update gives every byte of the body, final none
    const body = cipher.update(plaintext)
    const tail = cipher.final()
    const out = Buffer.allocUnsafe(1 + GCM_NONCE + body.length + tail.length + GCM_TAG)
    out[0] = SUITE_BYTE[suite]
    iv.copy(out, 1)
    body.copy(out, 1 + GCM_NONCE)
    tail.copy(out, 1 + GCM_NONCE + body.length)
    cipher.getAuthTag().copy(out, out.length - GCM_TAG)
    return out
  }
  const { enc, mac } = sm4KeysOf(key)
  const nonce = freshNonce(SM4_NONCE)
  const cipher = createCipheriv('sm4-ctr', enc, nonce)
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.of(SUITE_BYTE.sm4), nonce, body, sm4Mac(mac, nonce, aad, body)])
}

/** The plaintext, or an AeadError if the key is wrong or anything was changed. */
export function open (key: Buffer, sealed: Buffer, aad?: Buffer): Buffer {
  checkKey(key)
  const suite = sealed[0]
  if (suite === SUITE_BYTE['aes-256-gcm'] && sealed.length >= 1 + GCM_NONCE + GCM_TAG) {
    const nonce = sealed.subarray(1, 1 + GCM_NONCE)
    const tag = sealed.subarray(sealed.length - GCM_TAG)
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce)
      if (aad) decipher.setAAD(aad)
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(sealed.subarray(1 + GCM_NONCE, sealed.length - GCM_TAG)), decipher.final()])
    } catch {
      throw new AeadError()
    }
  }
  if (suite === SUITE_BYTE.sm4 && sealed.length >= 1 + SM4_NONCE + SM4_TAG) {
    const { enc, mac } = sm4KeysOf(key)
    const nonce = sealed.subarray(1, 1 + SM4_NONCE)
    const body = sealed.subarray(1 + SM4_NONCE, sealed.length - SM4_TAG)
    const expected = sm4Mac(mac, nonce, aad, body)
    if (!timingSafeEqual(expected, sealed.subarray(sealed.length - SM4_TAG))) throw new AeadError()
    const decipher = createDecipheriv('sm4-ctr', enc, nonce)
    return Buffer.concat([decipher.update(body), decipher.final()])
  }
  throw new AeadError('not a sealed value')
}

/**
 * A keyset cursor sealed with AES-256-GCM under `key` (a key of its grant or dataset): the last
 * record key of a page may itself be personal data (a student number), so the client never sees it.
 */
export function sealKeyCursor (key: Buffer, recordKey: string): string {
  const iv = freshNonce(12) // used at once: copied into the cursor below
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([cipher.update(recordKey, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
}

/** The record key a cursor of `sealKeyCursor` holds; null when it was changed or sealed under another key. */
export function openKeyCursor (key: Buffer, cursor: string): string | null {
  const bytes = Buffer.from(cursor, 'base64url')
  if (bytes.length < 28 || bytes.length > 2048) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12))
    decipher.setAuthTag(bytes.subarray(bytes.length - 16))
    return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8')
  } catch {
    return null // a wrong tag: changed, or sealed under another key
  }
}
