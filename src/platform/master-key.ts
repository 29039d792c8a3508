import { createHmac, hkdfSync } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { inspect } from 'node:util'
import type { Config } from '../config.js'
import { ConfigError } from './config-error.js'
import { AEAD_SUITES, open as aeadOpen, seal as aeadSeal, type AeadSuite } from './aead.js'

/**
 * The deployment's master key, given from outside: `DATAGATE_MASTER_KEY` (64 hex characters) or the
 * file named by `DATAGATE_MASTER_KEY_FILE`. Whatever needs a secret of its own (backups, encryption
 * at rest) derives it from this key by HKDF with a purpose, so that one key never serves two uses.
 * A wrong key is a configuration error: the process stops before it touches anything.
 */
export const CIPHERS = AEAD_SUITES
export type Cipher = AeadSuite

type MasterKeyConfig = Pick<Config, 'DATAGATE_MASTER_KEY' | 'DATAGATE_MASTER_KEY_FILE'>

export interface MasterKey {
  /** the raw 256 bits (not enumerable: never serialised or logged) */
  readonly key: Buffer
  /** a public name of the key: safe to store and show, useless to decrypt */
  readonly fingerprint: string
  /** where the key came from (the variable or the file), for messages */
  readonly source: string
  /** a 256-bit key for one purpose, by HKDF over SHA-256 (aes-256-gcm) or SM3 (sm4) */
  derive (purpose: string, options?: { algorithm?: Cipher, salt?: Buffer, length?: number }): Buffer
  /** authenticated encryption under the purpose's key; `aad` is bound to the result but not in it */
  seal (plaintext: Buffer, options: { algorithm: Cipher, purpose?: string }, aad?: Buffer): Buffer
  /** the plaintext, or an AeadError if the key, the purpose, the aad or the sealed bytes differ */
  open (sealed: Buffer, options?: { purpose?: string }, aad?: Buffer): Buffer
}

const HEX = /^[0-9a-fA-F]*$/
const MAX_KEY_FILE_BYTES = 4096
const DEFAULT_PURPOSE = 'seal'
/** the first byte of a sealed value names its suite (see aead.ts) */
const SUITE_OF_BYTE: Record<number, Cipher> = { 1: 'aes-256-gcm', 2: 'sm4' }
const HASH_OF: Record<Cipher, string> = { 'aes-256-gcm': 'sha256', sm4: 'sm3' }

/** The 32 bytes of a master key written as 64 hex characters (surrounding whitespace ignored). */
export function parseMasterKey (text: string, source: string): Buffer {
  const hex = text.trim()
  const problem = hex.length !== 64
    ? `got ${hex.length} characters`
    : !HEX.test(hex)
        ? 'it holds characters that are not hexadecimal'
        : /^(.)\1*$/.test(hex) ? 'it repeats one character: a placeholder, not a key' : null
  if (problem) throw new ConfigError([`${source}: a master key is 64 hex characters (256 random bits); ${problem}`])
  return Buffer.from(hex, 'hex')
}

/** The fingerprint the keyring stores beside the data keys a master key wraps. */
export function masterKeyFingerprint (key: Buffer): string {
  return createHmac('sha256', key).update('datagate-master-key-fingerprint').digest('hex').slice(0, 16)
}

/**
 * The master key of the configuration: DATAGATE_MASTER_KEY, else the file DATAGATE_MASTER_KEY_FILE
 * names; null when neither is set. A malformed key or an unreadable file throws a ConfigError
 * naming the variable (never the key).
 */
export function loadMasterKey (config: MasterKeyConfig): MasterKey | null {
  if (config.DATAGATE_MASTER_KEY) return masterKeyOf(parseMasterKey(config.DATAGATE_MASTER_KEY, 'DATAGATE_MASTER_KEY'), 'DATAGATE_MASTER_KEY')
  const file = config.DATAGATE_MASTER_KEY_FILE
  if (!file) return null
  const source = `DATAGATE_MASTER_KEY_FILE (${file})`
  let text: string
  try {
    if (statSync(file).size > MAX_KEY_FILE_BYTES) throw new ConfigError([`${source}: not a key file (larger than ${MAX_KEY_FILE_BYTES} bytes)`])
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw new ConfigError([`${source}: cannot be read (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? (err as Error).message})`])
  }
  return masterKeyOf(parseMasterKey(text, source), source)
}

/** A MasterKey over 32 bytes. */
export function masterKeyOf (key: Buffer, source = 'a master key'): MasterKey {
  if (key.length !== 32) throw new Error('a master key is 32 bytes')
  const bytes = Buffer.from(key) // a private copy: the caller's buffer may be wiped or reused
  const fingerprint = masterKeyFingerprint(bytes)
  const derived = new Map<string, Buffer>()
  const derive: MasterKey['derive'] = (purpose, { algorithm = 'aes-256-gcm', salt, length = 32 } = {}) => {
    if (salt) return Buffer.from(hkdfSync(HASH_OF[algorithm], bytes, salt, `datagate/${purpose}/${algorithm}`, length))
    const id = `${purpose}\u0000${algorithm}\u0000${length}`
    let k = derived.get(id)
    if (!k) {
      k = Buffer.from(hkdfSync(HASH_OF[algorithm], bytes, Buffer.alloc(0), `datagate/${purpose}/${algorithm}`, length))
      derived.set(id, k)
    }
    return k
  }
  const master = {
    fingerprint,
    source,
    derive,
    seal: (plaintext: Buffer, { algorithm, purpose = DEFAULT_PURPOSE }: { algorithm: Cipher, purpose?: string }, aad?: Buffer) =>
      aeadSeal(algorithm, derive(purpose, { algorithm }), plaintext, aad),
    open: (sealed: Buffer, { purpose = DEFAULT_PURPOSE }: { purpose?: string } = {}, aad?: Buffer) => {
      // an unknown suite byte gets a key that opens nothing: aead.open then says what is wrong
      const algorithm = SUITE_OF_BYTE[sealed[0] ?? 0] ?? 'aes-256-gcm'
      return aeadOpen(derive(purpose, { algorithm }), sealed, aad)
    },
    toJSON: () => ({ fingerprint, source }),
    [inspect.custom]: () => `MasterKey(${fingerprint})`
  }
  Object.defineProperty(master, 'key', { value: bytes, enumerable: false })
  return master as unknown as MasterKey
}
