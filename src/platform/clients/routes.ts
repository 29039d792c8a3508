import { randomBytes } from 'node:crypto'
import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { DUMMY_HASH, hashSecret, newSecret, verifySecret } from '../crypto.js'
import { AuthClientInvalidError, FieldError, NotFoundError } from '../errors.js'
import { decodeCursor, paginate } from '../pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../schemas.js'
import type { TokenIssuer } from '../auth/token.js'
import { createClientRepository, toClientView } from './repository.js'
import {
  ClientPageSchema, ClientParamsSchema, CreateClientSchema, CreatedClientSchema, ListClientsQuerySchema,
  ServiceClientSchema, TokenRequestSchema, TokenResponseSchema
} from './schemas.js'

const admins = { roles: ['system_admin'] } as const

export interface ClientRoutesOptions {
  issuer: TokenIssuer
  tokenTtlSeconds: number
}

/** Service clients (managed by `system_admin`) and the client-credentials token endpoint. */
export const clientRoutes: FastifyPluginAsyncTypebox<ClientRoutesOptions> = async (app, { issuer, tokenTtlSeconds }) => {
  const clients = createClientRepository(app.db)
  // RFC 6749 clients send application/x-www-form-urlencoded; JSON is accepted too
  await app.register(formbody, { bodyLimit: 4096 })

  app.post('/clients', {
    config: { access: admins },
    schema: {
      tags: ['clients'],
      summary: 'Register a service client',
      description: 'Creates a business-system account of a unit and returns its secret once. Machine accounts may hold only `steward` and `consumer`.',
      operationId: 'createClient',
      body: CreateClientSchema,
      response: { 201: CreatedClientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request, reply) => {
    const secret = newSecret()
    const row = await clients.create({
      clientId: `dgc_${randomBytes(12).toString('base64url')}`,
      name: request.body.name,
      unit: request.body.unit,
      roles: request.body.roles,
      secretHash: await hashSecret(secret),
      createdBy: request.principal!.sub
    })
    // the one response that holds the secret: no cache or proxy may keep it
    reply.header('cache-control', 'no-store')
    return reply.code(201).send({ ...toClientView(row), clientSecret: secret })
  })

  app.get('/clients', {
    config: { access: admins },
    schema: {
      tags: ['clients'],
      summary: 'List service clients',
      operationId: 'listClients',
      querystring: ListClientsQuerySchema,
      response: { 200: ClientPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor } = request.query
    const after = cursor === undefined ? undefined : String(decodeCursor(cursor, 1)[0])
    const rows = await clients.list({ limit: limit + 1, ...(after !== undefined ? { after } : {}) })
    const { page, nextCursor } = paginate(rows, limit, (c) => [c.client_id])
    return { data: page.map(toClientView), nextCursor }
  })

  app.get('/clients/:clientId', {
    config: { access: admins },
    schema: {
      tags: ['clients'],
      summary: 'Get a service client',
      operationId: 'getClient',
      params: ClientParamsSchema,
      response: { 200: ServiceClientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await clients.find(request.params.clientId)
    if (!row) throw new NotFoundError(`no client ${request.params.clientId}`)
    return toClientView(row)
  })

  app.post('/clients/:clientId/disable', {
    config: { access: admins },
    schema: {
      tags: ['clients'],
      summary: 'Disable a service client',
      description: 'The client can obtain no new token. Tokens already issued live until they expire (at most CLIENT_TOKEN_TTL_S).',
      operationId: 'disableClient',
      params: ClientParamsSchema,
      response: { 200: ServiceClientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await clients.disable(request.params.clientId)
    if (!row) throw new NotFoundError(`no client ${request.params.clientId}`)
    return toClientView(row)
  })

  app.post('/auth/token', {
    config: { access: 'public', rateLimit: { max: 60, timeWindow: 60_000 } },
    schema: {
      tags: ['auth'],
      summary: 'Obtain a token (client credentials)',
      description: 'OAuth 2 client-credentials grant (RFC 6749 §4.4) for registered service clients. Credentials in the body or in HTTP Basic.',
      operationId: 'issueToken',
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      body: TokenRequestSchema,
      response: { 200: TokenResponseSchema, ...problems(400, 401, 413, 415, 429, 503) }
    }
  }, async (request, reply) => {
    const { id, secret } = credentials(request, request.body)
    const row = await clients.find(id)
    const matches = await verifySecret(secret, row?.secret_hash ?? DUMMY_HASH)
    if (!row || !matches || row.disabled_at) throw new AuthClientInvalidError()
    await clients.touch(row.client_id)
    const token = issuer.sign({
      sub: `client:${row.client_id}`,
      unit: row.unit_code,
      roles: row.roles as ('steward' | 'consumer')[],
      client: row.client_id
    }, tokenTtlSeconds)
    reply.header('cache-control', 'no-store')
    return { access_token: token, token_type: 'Bearer' as const, expires_in: tokenTtlSeconds }
  })
}

function credentials (request: FastifyRequest, body: { client_id?: string, client_secret?: string }) {
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(request.headers.authorization ?? '')
  if (basic) {
    // RFC 6749 §2.3: one authentication method per request, so that it is clear which one failed
    if (body.client_id !== undefined || body.client_secret !== undefined) {
      throw new FieldError(body.client_secret !== undefined ? 'client_secret' : 'client_id', 'must not be sent with HTTP Basic credentials')
    }
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    try {
      // RFC 6749 §2.3.1: both halves are form-urlencoded before joining
      if (colon > 0) return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) }
    } catch {}
    throw new AuthClientInvalidError()
  }
  if (!body.client_id) throw new FieldError('client_id', 'is required (or use HTTP Basic)')
  if (!body.client_secret) throw new FieldError('client_secret', 'is required (or use HTTP Basic)')
  return { id: body.client_id, secret: body.client_secret }
}
