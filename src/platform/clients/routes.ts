import type { FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DUMMY_HASH, verifySecret } from '../crypto.js'
import { AuthClientInvalidError, FieldError, NotFoundError } from '../errors.js'
import { keysetPage, TEXT_KEY } from '../pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../schemas.js'
import { AuthBlockedError } from '../auth/blocklist.js'
import { addressMatcher, AuthAddressNotAllowedError } from '../auth/terminal-control.js'
import type { TokenIssuer } from '../auth/token.js'
import { AuthVendorAgreementExpiredError } from './errors.js'
import { createClientRepository, toClientView } from './repository.js'
import {
  ClientPageSchema, ClientParamsSchema, CreateClientSchema, CreatedClientSchema, HolderBodySchema, ListClientsQuerySchema,
  RenewAgreementSchema, ServiceClientSchema, TokenRequestSchema, TokenResponseSchema, UpdateClientSchema
} from './schemas.js'
import { createClientService } from './service.js'
import { tokenLifetime } from './vendor-agreement.js'

const admins = { roles: ['system_admin'] } as const
export interface ClientRoutesOptions {
  issuer: TokenIssuer
  tokenTtlSeconds: number
}

/** Service clients (managed by `system_admin`) and the client-credentials token endpoint. */
export const clientRoutes: FastifyPluginAsyncTypebox<ClientRoutesOptions> = async (app, { issuer, tokenTtlSeconds }) => {
  const clients = createClientRepository(app.db)
  const service = createClientService(app.db, { refreshTerminalControl: async () => { await app.terminalControl.refresh() } })
  // RFC 6749 clients send application/x-www-form-urlencoded; JSON is accepted too
  await app.register(formbody, { bodyLimit: 4096 })

  app.post('/clients', {
    config: { access: admins },
    schema: {
      tags: ['clients'],
      summary: 'Register a service client',
      description: 'Creates a business-system account of a unit and returns its secret once. Machine accounts may hold only `steward` and `consumer`. ' +
        '`holder` names the person responsible for the client: their offboarding disables it. A client run by an outside technical service ' +
        'provider (`kind: vendor`) is registered only with the confidentiality agreement the provider signed (R1.1): signed already and not ' +
        'expired; its tokens never outlive the agreement, and once it expires the client gets no token until a renewal is recorded. ' +
        '`allowedAddresses` (terminal control, 004 §11) limits where its tokens are accepted from (400 naming `allowedAddresses.N` for a bad entry).',
      operationId: 'createClient',
      body: CreateClientSchema,
      response: { 201: CreatedClientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request, reply) => {
    const { client, secret } = await service.create(request.body, request.principal!, String(request.id))
    // the one response that holds the secret: no cache or proxy may keep it
    reply.header('cache-control', 'no-store')
    return reply.code(201).send({ ...toClientView(client), clientSecret: secret })
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
    const { page, nextCursor } = await keysetPage(request.query, { key: TEXT_KEY, as: 'after', fetch: (p) => clients.list(p), keyOf: (c) => [c.client_id] })
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

  app.patch('/clients/:clientId', {
    config: { access: admins },
    schema: {
      tags: ['clients'],
      summary: 'Update a service client',
      description: 'Renames the client or replaces its terminal control (终端管控, 004 §11): `allowedAddresses`, the IPv4/IPv6 addresses ' +
        'and CIDR ranges its tokens, and the token endpoint for it, are accepted from (`[]`: from anywhere). A bad entry is a 400 ' +
        'naming `allowedAddresses.N`. Every process applies a change within about a second (this one at once), to the tokens ' +
        'already issued too.',
      operationId: 'updateClient',
      params: ClientParamsSchema,
      body: UpdateClientSchema,
      response: { 200: ServiceClientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 413, 415) }
    }
  }, async (request) => {
    const row = await service.update(request.params.clientId, request.body, request.principal!, String(request.id))
    return toClientView(row)
  })

  app.post('/clients/:clientId/disable', {
    config: { access: admins },
    schema: {
      tags: ['clients'],
      summary: 'Disable a service client',
      description: 'The client can obtain no new token. Tokens already issued live until they expire (at most CLIENT_TOKEN_TTL_S). ' +
        'Disabling a disabled client changes nothing.',
      operationId: 'disableClient',
      params: ClientParamsSchema,
      response: { 200: ServiceClientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await service.disable(request.params.clientId, request.principal!, String(request.id))
    return toClientView(row)
  })

  app.put('/clients/:clientId/holder', {
    config: { access: admins },
    schema: {
      tags: ['clients'],
      summary: 'Hand a service client to another holder',
      description: 'Names the person who answers for the client from now on (when its holder changes duties or leaves: offboarding ' +
        'disables the clients a person still holds, so hand them over first if they must keep running).',
      operationId: 'setClientHolder',
      params: ClientParamsSchema,
      body: HolderBodySchema,
      response: { 200: ServiceClientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 413, 415) }
    }
  }, async (request) => {
    const row = await service.setHolder(request.params.clientId, request.body.holder, request.principal!, String(request.id))
    return toClientView(row)
  })

  app.put('/clients/:clientId/agreement', {
    config: { access: admins },
    schema: {
      tags: ['clients'],
      summary: 'Record a vendor client\'s renewed confidentiality agreement',
      description: 'Replaces the confidentiality agreement on record of a vendor client (R1.1) with the renewed one: signed already and ' +
        'not expired. It governs the tokens issued from now on (their lifetime is capped at its expiry); tokens already issued keep ' +
        'theirs. A disabled client stays disabled. An internal client has no agreement (409).',
      operationId: 'renewClientAgreement',
      params: ClientParamsSchema,
      body: RenewAgreementSchema,
      response: { 200: ServiceClientSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const row = await service.renewAgreement(request.params.clientId, request.body, request.principal!, String(request.id))
    return toClientView(row)
  })

  app.post('/auth/token', {
    config: { access: 'public', rateLimit: { max: 60, timeWindow: 60_000 } },
    schema: {
      tags: ['auth'],
      summary: 'Obtain a token (client credentials)',
      description: 'OAuth 2 client-credentials grant (RFC 6749 §4.4) for registered service clients. Credentials in the body or in HTTP Basic. ' +
        'Unknown clients, wrong secrets and disabled clients get the same 401 `AUTH_CLIENT_INVALID`. A vendor client whose confidentiality ' +
        'agreement has expired gets 401 `AUTH_VENDOR_AGREEMENT_EXPIRED` (only with its right secret); a vendor client\'s token expires ' +
        'no later than its agreement (`expires_in` says when). A blacklisted client gets 403 `AUTH_BLOCKED`; a client with ' +
        '`allowedAddresses` asking from another address gets 403 `AUTH_ADDRESS_NOT_ALLOWED` (only with its right secret).',
      operationId: 'issueToken',
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      body: TokenRequestSchema,
      response: { 200: TokenResponseSchema, ...problems(400, 401, 403, 413, 415, 429, 503) }
    }
  }, async (request, reply) => {
    const { id, secret } = credentials(request, request.body)
    const row = await clients.find(id)
    const matches = await verifySecret(secret, row?.secret_hash ?? DUMMY_HASH)
    if (!row || !matches || row.disabled_at) throw new AuthClientInvalidError()
    // terminal control (004 §11): only from the client's registered addresses, if it has any
    if (!addressMatcher(row.allowed_addresses)(request.ip)) {
      throw new AuthAddressNotAllowedError(`client ${row.client_id} obtains tokens only from its registered addresses (terminal control)`)
    }
    // a vendor works only under its confidentiality agreement, and no token outlives it (R1.1)
    const ttl = tokenLifetime(row, tokenTtlSeconds)
    if (ttl === null) throw new AuthVendorAgreementExpiredError()
    // a blacklisted client gets no new token (its old ones are refused on use)
    if (app.blocklist.check.principal({ sub: `client:${row.client_id}`, unit: row.unit_code, client: row.client_id })) throw new AuthBlockedError('this caller')
    await clients.touch(row.client_id)
    const token = issuer.sign({
      sub: `client:${row.client_id}`,
      unit: row.unit_code,
      roles: row.roles,
      client: row.client_id
    }, ttl)
    reply.header('cache-control', 'no-store')
    return { access_token: token, token_type: 'Bearer' as const, expires_in: ttl }
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
