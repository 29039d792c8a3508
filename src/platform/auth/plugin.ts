import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createDecoder, createVerifier, TokenError, type Algorithm } from 'fast-jwt'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import type { Config } from '../../config.js'
import { AuthForbiddenError, AuthTokenInvalidError, AuthTokenMissingError } from '../errors.js'
import { AuthBlockedError, type Blocklist } from './blocklist.js'
import { createJwksResolver, JwksKeyError } from './jwks.js'
import type { VerificationKey } from './keys.js'
import { createPrincipalRegistry, type PrincipalRegistry } from './principal-registry.js'
import { ROLES, roleConflict, type Role } from './roles.js'
import { createReloader } from './snapshot-reloader.js'
import { AuthAddressNotAllowedError, createTerminalControl, restrictedClients, type TerminalControl } from './terminal-control.js'

/** Who is calling: the verified claims of the bearer token. */
export interface Principal {
  sub: string
  unit: string
  roles: Role[]
  /** service client id when the token came from the client-credentials grant */
  client?: string
  /** `jti` of the token, for the audit trail */
  tokenId?: string
}

/**
 * What a route requires. Every `/api/v1` route must say (checked at start-up): deny unless granted.
 * `public` routes take no token; `authenticated` ones any valid token; otherwise one of the roles.
 */
export type Access = 'public' | 'authenticated' | { roles: readonly Role[] }

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
  interface FastifyInstance {
    /** who holds which role: the accepted tokens this process saw, written in batches (flush: now) */
    principalRegistry: PrincipalRegistry
    /** terminal control: the address lists of service clients, reloaded (refresh: now, after a change here) */
    terminalControl: { check: TerminalControl, refresh (): Promise<void> }
  }
  interface FastifyContextConfig {
    access?: Access
  }
}

const ClaimsSchema = Type.Object({
  sub: Type.String({ minLength: 1, maxLength: 200 }),
  unit: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }),
  roles: Type.Array(Type.Enum([...ROLES]), { minItems: 1, maxItems: ROLES.length, uniqueItems: true }),
  client: Type.Optional(Type.String({ maxLength: 100 })),
  jti: Type.Optional(Type.String({ maxLength: 200 }))
})
const checkClaims = Compile(ClaimsSchema)

/** A token refused for a reason that is safe to tell the caller. */
class Refused extends Error {
  constructor (readonly reason: string) {
    super(reason)
  }
}

type Verify = (token: string) => Record<string, unknown>

export interface AuthOptions {
  config: Pick<Config, 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'JWT_CLOCK_SKEW_S' | 'JWT_MAX_TTL_S' | 'JWKS_URL' | 'JWKS_ISSUER' | 'PRINCIPALS_FLUSH_MS' | 'BLACKLIST_REFRESH_MS'>
  key: VerificationKey
  /** the blacklist, checked on every request (R11.2); health probes and metrics are exempt */
  blocklist?: Blocklist
}

async function auth (app: FastifyInstance, { config, key, blocklist }: AuthOptions) {
  const decode = createDecoder({ complete: true })
  const common = {
    allowedAud: [config.JWT_AUDIENCE],
    requiredClaims: ['exp', 'iss', 'aud', 'sub'],
    clockTolerance: config.JWT_CLOCK_SKEW_S * 1000,
    cache: 10_000
  }
  // Datagate's own tokens: its one key, its one algorithm
  const own: Verify = createVerifier({ ...common, key: key.publicPem, algorithms: [key.algorithm], allowedIss: [config.JWT_ISSUER] })

  // the campus identity provider's tokens: the key its JWKS publishes under the header's kid
  const idp = config.JWKS_URL && config.JWKS_ISSUER
    ? {
        issuer: config.JWKS_ISSUER,
        keys: createJwksResolver({
          url: config.JWKS_URL,
          onError: (err) => app.log.warn({ err: { message: err.message } }, 'identity provider keys could not be fetched')
        }),
        verifiers: new Map<string, Verify>()
      }
    : null

  // Datagate never issues a token living longer than JWT_MAX_TTL_S, so a longer one was not minted
  // by its issuer (a leaked key, a hand-made token): it is refused rather than trusted for years
  function withinLifetime (claims: Record<string, unknown>): Record<string, unknown> {
    const { exp, iat } = claims as { exp: number, iat?: unknown }
    const now = Math.floor(Date.now() / 1000)
    const from = typeof iat === 'number' ? Math.min(iat, now) : now
    if (exp - from > config.JWT_MAX_TTL_S + config.JWT_CLOCK_SKEW_S) throw new Refused('lifetime above the maximum')
    return claims
  }

  async function verify (token: string): Promise<{ claims: Record<string, unknown>, own: boolean }> {
    const { header, payload } = decode(token) as { header: Record<string, unknown>, payload: Record<string, unknown> }
    const iss = payload.iss
    if (iss === config.JWT_ISSUER) return { claims: withinLifetime(own(token)), own: true }
    if (idp && iss === idp.issuer) {
      const alg = header.alg as string
      const pem = await idp.keys.key(header.kid, alg)
      const cacheKey = `${alg}\n${pem}`
      let verifier = idp.verifiers.get(cacheKey)
      if (!verifier) {
        if (idp.verifiers.size >= 100) idp.verifiers.clear() // rotated-away keys do not pile up
        verifier = createVerifier({ ...common, key: pem, algorithms: [alg as Algorithm], allowedIss: [idp.issuer] }) as Verify
        idp.verifiers.set(cacheKey, verifier)
      }
      return { claims: verifier(token), own: false }
    }
    throw new Refused(iss === undefined ? 'missing claim iss' : 'unknown issuer')
  }

  async function authenticate (request: FastifyRequest, reply: FastifyReply): Promise<{ principal: Principal, issuer: string, exp: number }> {
    const header = request.headers.authorization
    if (!header) {
      reply.header('www-authenticate', 'Bearer realm="datagate"')
      throw new AuthTokenMissingError()
    }
    const refuse = (reason: string) => {
      reply.header('www-authenticate', `Bearer realm="datagate", error="invalid_token", error_description="${reason.replace(/["\\]/g, '')}"`)
      return new AuthTokenInvalidError(reason)
    }
    // RFC 9110 §11.1: the scheme is case-insensitive; RFC 6750 §2.1: one token, no parameters
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(header)
    if (!match) throw refuse('expected "Authorization: Bearer <JWT>"')
    let verified: { claims: Record<string, unknown>, own: boolean }
    try {
      verified = await verify(match[1]!)
    } catch (err) {
      // every failure of a presented token is the caller's: 401, with a reason that reveals no key material
      request.log.debug({ reason: (err as Error).message }, 'token refused')
      throw refuse(reasonOf(err))
    }
    const { claims } = verified
    if (!checkClaims.Check(claims)) throw refuse('claims sub, unit and roles are missing or malformed')
    const conflict = roleConflict(claims.roles)
    if (conflict) throw refuse(conflict)
    const principal: Principal = {
      sub: claims.sub,
      unit: claims.unit,
      roles: claims.roles as Role[],
      // only Datagate's own client-credentials tokens speak for a service client
      ...(claims.client && verified.own ? { client: claims.client } : {}),
      ...(claims.jti ? { tokenId: claims.jti } : {})
    }
    // iss and exp are required claims, checked by the verifier
    return { principal, issuer: verified.claims.iss as string, exp: verified.claims.exp as number }
  }

  const registry = createPrincipalRegistry(app.db, { flushMs: config.PRINCIPALS_FLUSH_MS })
  const terminals = createTerminalControl()
  const terminalReloader = createReloader({
    name: 'terminal control',
    refreshMs: config.BLACKLIST_REFRESH_MS,
    log: app.log,
    reload: async () => {
      terminals.replace(await restrictedClients(app.db))
      return terminals.size
    }
  })
  app.decorate('principalRegistry', registry)
  app.decorate('terminalControl', { check: terminals, refresh: terminalReloader.refresh })
  app.addHook('onReady', async () => {
    await terminalReloader.refresh()
    terminalReloader.start()
    registry.start(app.log)
  })
  // before the database closes (its onClose runs first): the last sightings are written
  app.addHook('preClose', async () => {
    await terminalReloader.stop()
    await registry.stop().catch((err: unknown) => { app.log.warn({ err: { message: (err as Error).message } }, 'principals: the last sightings could not be written') })
  })

  app.decorateRequest('principal', null)

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/v1/') && route.config?.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} declares no access rule`)
    }
  })

  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access
    // a blocked address is refused before anything else, public routes included (probes excepted,
    // so that a blocked balancer or monitor does not take the service out of rotation)
    if (blocklist && !/^\/(health\/|metrics\b)/.test(request.url) && blocklist.address(request.ip)) throw new AuthBlockedError('this address')
    if (access === undefined || access === 'public') return
    const { principal, issuer, exp } = await authenticate(request, reply)
    // the principal stays set, so that the audited refusal names who was refused
    request.principal = principal
    if (blocklist?.principal(principal)) throw new AuthBlockedError('this caller')
    if (principal.client !== undefined && terminals.refuses(principal.client, request.ip)) {
      throw new AuthAddressNotAllowedError(`the tokens of client ${principal.client} are accepted only from its registered addresses (terminal control)`)
    }
    registry.seen(principal, issuer, exp)
    if (access !== 'authenticated' && !access.roles.some((r) => request.principal!.roles.includes(r))) {
      throw new AuthForbiddenError(`requires one of the roles ${access.roles.join(', ')}`)
    }
  })
}

/** Fixed wording for each refusal: nothing of the token or the key is echoed back. */
function reasonOf (err: unknown): string {
  if (err instanceof Refused || err instanceof JwksKeyError) return err.reason
  if (!(err instanceof TokenError)) return 'malformed or untrusted'
  const claim = /\b(iss|aud|sub|exp|nbf|iat|jti)\b/.exec(err.message)?.[1]
  switch (err.code) {
    case TokenError.codes.malformed: case TokenError.codes.invalidPayload: case TokenError.codes.invalidType:
      return 'malformed'
    case TokenError.codes.invalidAlgorithm: return 'algorithm not allowed'
    case TokenError.codes.missingSignature: return 'unsigned'
    case TokenError.codes.invalidSignature: return 'bad signature'
    case TokenError.codes.expired: return 'expired'
    case TokenError.codes.inactive: return 'not valid yet (nbf)'
    case TokenError.codes.missingRequiredClaim: return claim ? `missing claim ${claim}` : 'missing claim'
    case TokenError.codes.invalidClaimType: return claim ? `claim ${claim} has the wrong type` : 'a claim has the wrong type'
    case TokenError.codes.invalidClaimValue: return claim ? `wrong ${claim}` : 'a claim has a wrong value'
    case TokenError.codes.invalidCritHeader: return 'unsupported critical header'
    default: return 'malformed or untrusted'
  }
}

export default fp(auth, { name: 'auth', dependencies: ['db'], fastify: '5.x' })
