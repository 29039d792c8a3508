import { randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { Role } from './roles.js'
import type { SigningKey } from './keys.js'

export interface TokenClaims {
  sub: string
  unit: string
  roles: Role[]
  /** service client id, for client-credentials tokens */
  client?: string
}

export interface TokenIssuer {
  sign (claims: TokenClaims, ttlSeconds: number): string
}

/** Signs Datagate's own tokens: `iss`, `aud`, `exp`, `iat`, `jti` always set, `kid` in the header. */
export function createTokenIssuer (key: SigningKey, options: { issuer: string, audience: string, maxTtlSeconds: number }): TokenIssuer {
  const signer = createSigner({
    key: key.privatePem,
    algorithm: key.algorithm,
    kid: key.kid,
    iss: options.issuer,
    aud: options.audience
  })
  return {
    sign (claims, ttlSeconds) {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > options.maxTtlSeconds) {
        throw new RangeError(`token lifetime must be 1 to ${options.maxTtlSeconds} seconds`)
      }
      const now = Math.floor(Date.now() / 1000)
      return signer({ ...claims, iat: now, exp: now + ttlSeconds, jti: randomUUID() })
    }
  }
}

/** "90s", "15m", "1h", "7d" or plain seconds → seconds. */
export function parseDuration (text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim())
  if (!match) throw new Error(`not a duration: ${text} (use e.g. 90s, 15m, 1h, 7d)`)
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd']
  return Number(match[1]) * unit
}
