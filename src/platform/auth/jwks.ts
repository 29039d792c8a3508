import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { Algorithm } from 'fast-jwt'

/** Algorithms a campus identity provider may use: asymmetric only, never HS* or none. */
export const IDP_ALGORITHMS = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const satisfies readonly Algorithm[]
export type IdpAlgorithm = typeof IDP_ALGORITHMS[number]

export function isIdpAlgorithm (alg: unknown): alg is IdpAlgorithm {
  return typeof alg === 'string' && (IDP_ALGORITHMS as readonly string[]).includes(alg)
}

/** A refusal whose message is safe to show the caller (it names no key material and no URL). */
export class JwksKeyError extends Error {
  constructor (readonly reason: string) {
    super(reason)
    this.name = 'JwksKeyError'
  }
}

export interface JwksOptions {
  url: string
  /** deadline of one JWKS fetch, body included (default 5 s) */
  timeoutMs?: number
  /** keys are refetched when older than this (default 10 min) */
  ttlMs?: number
  /**
   * at most one fetch per this interval, whatever the callers present (default 30 s): tokens with
   * made-up kids cannot turn Datagate into a flood of requests to the identity provider
   */
  minRefreshMs?: number
  /** told about every failed fetch (the server logs it) */
  onError?: (err: Error) => void
}

interface KeyEntry {
  pem: string
  algorithms: readonly IdpAlgorithm[]
}

export const MAX_JWKS_BYTES = 512 * 1024

/**
 * The public keys of the campus identity provider, from its JWKS URL: fetched on first use, kept
 * for `ttlMs`, refetched when a token names a kid not yet seen (key rotation), never more often than
 * `minRefreshMs`. While the provider is unreachable the keys last fetched stay in use; before any
 * fetch succeeded every token of the provider is refused.
 */
export function createJwksResolver (options: JwksOptions) {
  const { url, timeoutMs = 5000, ttlMs = 10 * 60_000, minRefreshMs = 30_000 } = options
  let keys = new Map<string, KeyEntry>()
  let loadedAt = -Infinity
  let attemptedAt = -Infinity
  let failing = false
  let inflight: Promise<void> | null = null

  async function load (): Promise<void> {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/jwk-set+json, application/json' },
      // the configured address and no other: a redirect could point the fetch anywhere (SSRF)
      redirect: 'manual'
    })
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel()
      throw new Error(`JWKS ${url} answered HTTP ${res.status}, a redirect, which is not followed: configure the final address`)
    }
    if (!res.ok) {
      await res.body?.cancel()
      throw new Error(`JWKS ${url} answered HTTP ${res.status}`)
    }
    const text = await readCapped(res, url)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new Error(`JWKS ${url} is not JSON`)
    }
    const list = (body as { keys?: unknown } | null)?.keys
    if (!Array.isArray(list)) throw new Error(`JWKS ${url} has no "keys" array`)
    const next = new Map<string, KeyEntry>()
    const seen = new Set<string>()
    for (const jwk of list) {
      const entry = toEntry(jwk)
      if (!entry) continue
      // a kid that appears twice is ambiguous: neither key is used
      if (seen.has(entry.kid)) next.delete(entry.kid)
      else next.set(entry.kid, entry)
      seen.add(entry.kid)
    }
    keys = next
    loadedAt = Date.now()
  }

  function refresh (): Promise<void> | undefined {
    if (inflight) return inflight
    if (Date.now() - attemptedAt < minRefreshMs) return undefined
    attemptedAt = Date.now()
    inflight = load().then(() => { failing = false }, (err: Error) => {
      failing = true
      options.onError?.(err.name === 'TimeoutError' ? new Error(`JWKS ${url} did not answer within ${timeoutMs} ms`) : err)
    }).finally(() => { inflight = null })
    return inflight
  }

  return {
    /** The PEM public key for a token header's kid and alg, or a JwksKeyError. */
    async key (kid: unknown, alg: unknown): Promise<string> {
      if (typeof kid !== 'string' || kid === '') throw new JwksKeyError('token header lacks kid')
      if (!isIdpAlgorithm(alg)) throw new JwksKeyError('algorithm not allowed')
      if (Date.now() - loadedAt > ttlMs || !keys.has(kid)) await refresh()
      const entry = keys.get(kid)
      if (!entry) throw new JwksKeyError(failing ? 'identity provider keys unavailable' : 'unknown key id')
      if (!entry.algorithms.includes(alg)) throw new JwksKeyError('algorithm not allowed for this key')
      return entry.pem
    }
  }
}

/** The body as text, refused (and no longer read) once it passes MAX_JWKS_BYTES: a huge answer never fills memory. */
async function readCapped (res: Response, url: string): Promise<string> {
  const tooLarge = () => new Error(`JWKS ${url} is larger than ${MAX_JWKS_BYTES} bytes`)
  if (Number(res.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES) {
    await res.body?.cancel()
    throw tooLarge()
  }
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_JWKS_BYTES) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** A usable signature key of a JWKS, or null: private, encryption-only and unsupported keys are skipped. */
function toEntry (jwk: unknown): (KeyEntry & { kid: string }) | null {
  if (!jwk || typeof jwk !== 'object') return null
  const { kid, use, key_ops: ops, alg, d } = jwk as Record<string, unknown>
  if (typeof kid !== 'string' || kid === '') return null
  if (use !== undefined && use !== 'sig') return null
  if (Array.isArray(ops) && !ops.includes('verify')) return null
  if (d !== undefined) return null // a private key has no business in a published key set
  let key: KeyObject
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
  } catch {
    return null
  }
  const usable = algorithmsOf(key)
  if (alg !== undefined && !usable.includes(alg as IdpAlgorithm)) return null
  const algorithms = alg === undefined ? usable : [alg as IdpAlgorithm]
  if (algorithms.length === 0) return null
  return { kid, pem: key.export({ type: 'spki', format: 'pem' }).toString(), algorithms }
}

function algorithmsOf (key: KeyObject): IdpAlgorithm[] {
  const details = key.asymmetricKeyDetails ?? {}
  switch (key.asymmetricKeyType) {
    case 'ed25519': return ['EdDSA']
    case 'ec':
      return details.namedCurve === 'prime256v1' ? ['ES256'] : details.namedCurve === 'secp384r1' ? ['ES384'] : details.namedCurve === 'secp521r1' ? ['ES512'] : []
    case 'rsa':
      return (details.modulusLength ?? 0) >= 2048 ? ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] : []
    default: return []
  }
}
