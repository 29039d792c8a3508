import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../../config.js'

export type SigningAlgorithm = 'EdDSA' | 'ES256'

export interface VerificationKey {
  algorithm: SigningAlgorithm
  /** RFC 7638 thumbprint, used as `kid` */
  kid: string
  publicPem: string
  jwk: Record<string, string>
}

export interface SigningKey extends VerificationKey {
  privatePem: string
}

type KeyConfig = Pick<Config, 'JWT_PRIVATE_KEY' | 'JWT_PUBLIC_KEY' | 'JWT_ALGORITHM' | 'dataDir'>

export function keyFile (dataDir: string): string {
  return join(dataDir, 'keys', 'jwt-signing-key.pem')
}

/**
 * The platform's signing key: from JWT_PRIVATE_KEY, else the data dir; generated there on first use
 * when `generate` is set (all-in-one, gateway, migrate). Written 0600, never logged.
 */
export function loadSigningKey (config: KeyConfig, { generate }: { generate: boolean }): SigningKey | null {
  let pem = config.JWT_PRIVATE_KEY
  if (!pem) {
    const file = keyFile(config.dataDir)
    pem = readIfExists(file) ?? (generate ? writeNewKey(file, config.JWT_ALGORITHM) : undefined)
  }
  if (!pem) return null
  const privateKey = createPrivateKey(pem)
  return { ...describe(createPublicKey(privateKey)), privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
}

/** The key tokens are verified with: the signing key's public half, or JWT_PUBLIC_KEY. */
export function loadVerificationKey (config: KeyConfig, signing: SigningKey | null): VerificationKey {
  if (signing) return signing
  if (config.JWT_PUBLIC_KEY) return describe(createPublicKey(config.JWT_PUBLIC_KEY))
  const pem = readIfExists(keyFile(config.dataDir))
  if (pem) return describe(createPublicKey(createPrivateKey(pem)))
  throw new Error(`no token verification key: set JWT_PUBLIC_KEY or JWT_PRIVATE_KEY, or run "datagate migrate" with DATAGATE_DATA_DIR=${config.dataDir} first`)
}

function describe (publicKey: KeyObject): VerificationKey {
  const algorithm = algorithmOf(publicKey)
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>
  // RFC 7638: members in lexicographic order, required members only
  const members = algorithm === 'EdDSA' ? ['crv', 'kty', 'x'] : ['crv', 'kty', 'x', 'y']
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])))
  const kid = createHash('sha256').update(canonical).digest('base64url')
  return {
    algorithm,
    kid,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    jwk: { ...jwk, kid, alg: algorithm, use: 'sig' }
  }
}

function algorithmOf (key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  throw new Error(`unsupported token key type ${key.asymmetricKeyType ?? 'unknown'}: use Ed25519 or EC P-256`)
}

function readIfExists (file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

function writeNewKey (file: string, algorithm: SigningAlgorithm): string {
  const { privateKey } = algorithm === 'EdDSA'
    ? generateKeyPairSync('ed25519')
    : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 })
  try {
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' })
    return pem
  } catch (err) {
    // another process of the same deployment won the race: use its key
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8')
    throw err
  }
}
