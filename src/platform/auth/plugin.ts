import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Algorithm } from 'fast-jwt'
import buildGetJwks from 'get-jwks'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import type { Config } from '../../config.js'
import { AuthForbiddenError, AuthTokenInvalidError, AuthTokenMissingError } from '../errors.js'
import type { VerificationKey } from './keys.js'
import { ROLES, roleConflict, type Role } from './roles.js'

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

/** Algorithms a campus identity provider may use: asymmetric only, never HS* or none. */
const IDP_ALGORITHMS: Algorithm[] = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']

export interface AuthOptions {
  config: Pick<Config, 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'JWT_CLOCK_SKEW_S' | 'JWKS_URL' | 'JWKS_ISSUER'>
  key: VerificationKey
}

async function auth (app: FastifyInstance, { config, key }: AuthOptions) {
  const jwks = config.JWKS_URL ? jwksResolver(config.JWKS_URL) : null
  const issuers = [config.JWT_ISSUER, ...(config.JWKS_ISSUER ? [config.JWKS_ISSUER] : [])]

  await app.register(fastifyJwt, {
    // the key follows the issuer: Datagate's own tokens, or the campus IdP's through its JWKS
    secret: async (_request: FastifyRequest, decoded: unknown) => {
      const token = decoded as { header: { kid?: string, alg?: string }, payload?: { iss?: string } }
      const iss = token.payload?.iss
      if (iss === config.JWT_ISSUER) return key.publicPem
      if (jwks && iss === config.JWKS_ISSUER) return await jwks(token.header.kid, token.header.alg)
      throw new Error('unknown issuer')
    },
    verify: {
      algorithms: jwks ? IDP_ALGORITHMS : [key.algorithm],
      allowedIss: issuers,
      allowedAud: [config.JWT_AUDIENCE],
      requiredClaims: ['exp', 'iss', 'aud', 'sub'],
      clockTolerance: config.JWT_CLOCK_SKEW_S * 1000,
      cache: 10_000
    },
    decode: { complete: true }
  })

  app.decorateRequest('principal', null)

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/v1/') && route.config?.access === undefined) {
      throw new Error(`route ${route.method} ${route.url} declares no access rule`)
    }
  })

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access
    if (access === undefined || access === 'public') return
    request.principal = await authenticate(request)
    if (access !== 'authenticated' && !access.roles.some((r) => request.principal!.roles.includes(r))) {
      throw new AuthForbiddenError(`requires one of the roles ${access.roles.join(', ')}`)
    }
  })
}

async function authenticate (request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization
  if (!header) throw new AuthTokenMissingError()
  if (!/^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(header)) {
    throw new AuthTokenInvalidError('expected "Authorization: Bearer <JWT>"')
  }
  let claims: unknown
  try {
    claims = await request.jwtVerify()
  } catch (err) {
    // every failure of a presented token is the caller's: 401, with a reason that reveals no key material
    request.log.debug({ reason: (err as Error).message }, 'token refused')
    throw new AuthTokenInvalidError(reasonOf(err))
  }
  if (!checkClaims.Check(claims)) throw new AuthTokenInvalidError('claims sub, unit and roles are missing or malformed')
  const conflict = roleConflict(claims.roles)
  if (conflict) throw new AuthTokenInvalidError(conflict)
  return {
    sub: claims.sub,
    unit: claims.unit,
    roles: claims.roles as Role[],
    ...(claims.client ? { client: claims.client } : {}),
    ...(claims.jti ? { tokenId: claims.jti } : {})
  }
}

function reasonOf (err: unknown): string {
  const code = (err as { code?: string }).code
  if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED' || code === 'FAST_JWT_EXPIRED') return 'expired'
  if (code === 'FAST_JWT_INACTIVE') return 'not valid yet (nbf)'
  if (code === 'FAST_JWT_MISSING_SIGNATURE' || code === 'FAST_JWT_INVALID_ALGORITHM') return 'algorithm not allowed'
  if (code === 'FST_JWT_AUTHORIZATION_TOKEN_INVALID') return 'bad signature, issuer, audience or missing claim'
  return 'malformed or untrusted'
}

function jwksResolver (url: string) {
  const { origin, pathname } = new URL(url)
  const getJwks = buildGetJwks({ jwksPath: pathname, max: 100, ttl: 10 * 60_000 })
  return async (kid: string | undefined, alg: string | undefined): Promise<string> => {
    if (!kid || !alg || !IDP_ALGORITHMS.includes(alg as Algorithm)) throw new Error('token header lacks kid or an allowed alg')
    return await getJwks.getPublicKey({ domain: origin, kid, alg })
  }
}

export default fp(auth, { name: 'auth', fastify: '5.x' })
