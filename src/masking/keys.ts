import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The platform masking secret and what is derived from it. Hashes, tokens, surrogates and noise
 * are keyed by HMAC(secret, purpose ‖ scope): the same value gives the same output within one
 * scope (one grant: joins work) and unrelated outputs across scopes (grants cannot be linked).
 */
export interface MaskingKey {
  /** a key for one purpose within one scope, cached */
  derive (purpose: string, scope: string): Buffer
}

export function maskingKeyFile (dataDir: string): string {
  return join(dataDir, 'keys', 'masking-key')
}

/** From MASKING_KEY (base64, at least 32 bytes), else the data dir's key file, generated on first use when allowed. */
export function loadMaskingKey ({ MASKING_KEY, dataDir }: { MASKING_KEY?: string | undefined, dataDir: string }, { generate }: { generate: boolean }): MaskingKey {
  let secret: Buffer | undefined
  if (MASKING_KEY) {
    secret = Buffer.from(MASKING_KEY, 'base64')
  } else {
    const file = maskingKeyFile(dataDir)
    secret = readKey(file) ?? (generate ? writeKey(file) : undefined)
    if (!secret) throw new Error(`no masking key: set MASKING_KEY or run "datagate migrate" with DATAGATE_DATA_DIR=${dataDir} first`)
  }
  if (secret.length < 32) throw new Error('MASKING_KEY must hold at least 32 bytes, base64-encoded')
  return createMaskingKey(secret)
}

export function createMaskingKey (secret: Buffer): MaskingKey {
  const cache = new Map<string, Buffer>()
  return {
    derive (purpose, scope) {
      const id = `${purpose}\u0000${scope}`
      let key = cache.get(id)
      if (!key) {
        if (cache.size > 10_000) cache.clear()
        key = createHmac('sha256', secret).update(`datagate-masking/${id}`).digest()
        cache.set(id, key)
      }
      return key
    }
  }
}

function readKey (file: string): Buffer | undefined {
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

function writeKey (file: string): Buffer {
  const secret = randomBytes(32)
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 })
  try {
    writeFileSync(file, secret.toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
    return secret
  } catch (err) {
    // another process of the deployment created it first: use that one
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readKey(file)!
    throw err
  }
}

export type { HashAlgorithm } from '../platform/digest.js'
export type TokenAlgorithm = 'aes' | 'sm4'

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
export function base32 (bytes: Buffer): string {
  let out = ''
  let bits = 0
  let acc = 0
  for (const b of bytes) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) { out += BASE32[(acc >>> (bits - 5)) & 31]; bits -= 5 }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31]
  return out
}

/**
 * Deterministic authenticated encryption (a synthetic-IV construction): the IV is a keyed MAC of the
 * plaintext, so equal values give equal tokens within a scope, and decryption checks the MAC.
 * AES-256-GCM, or SM4-CTR with an HMAC-SM3 synthetic IV (SM4 has no GCM mode in OpenSSL's list).
 */
export function tokenize (key: MaskingKey, scope: string, algorithm: TokenAlgorithm, text: string): string {
  const plain = Buffer.from(text, 'utf8')
  if (algorithm === 'aes') {
    const iv = createHmac('sha256', key.derive('token-iv', scope)).update(plain).digest().subarray(0, 12)
    const cipher = createCipheriv('aes-256-gcm', key.derive('token-aes', scope), iv)
    const body = Buffer.concat([cipher.update(plain), cipher.final()])
    return 'tka_' + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
  }
  const iv = createHmac('sm3', key.derive('token-iv-sm3', scope)).update(plain).digest().subarray(0, 16)
  const cipher = createCipheriv('sm4-ctr', key.derive('token-sm4', scope).subarray(0, 16), iv)
  return 'tks_' + Buffer.concat([iv, cipher.update(plain), cipher.final()]).toString('base64url')
}

/** The value behind a token of this scope, or null for a token that is malformed or of another key or scope. */
export function detokenize (key: MaskingKey, scope: string, token: string): string | null {
  try {
    const raw = Buffer.from(token.slice(4), 'base64url')
    if (token.startsWith('tka_') && raw.length >= 28) {
      const decipher = createDecipheriv('aes-256-gcm', key.derive('token-aes', scope), raw.subarray(0, 12))
      decipher.setAuthTag(raw.subarray(raw.length - 16))
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8')
    }
    if (token.startsWith('tks_') && raw.length >= 16) {
      const iv = raw.subarray(0, 16)
      const decipher = createDecipheriv('sm4-ctr', key.derive('token-sm4', scope).subarray(0, 16), iv)
      const plain = Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()])
      const check = createHmac('sm3', key.derive('token-iv-sm3', scope)).update(plain).digest().subarray(0, 16)
      return timingSafeEqual(check, iv) ? plain.toString('utf8') : null
    }
  } catch {
    // a wrong tag or a corrupted token: not ours
  }
  return null
}
