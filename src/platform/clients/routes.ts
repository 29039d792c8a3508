import { randomBytes } from 'node:crypto'
import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { Transaction } from 'kysely'
import type { Database, ServiceClient } from '../../db/database.js'
import { DUMMY_HASH, hashSecret, newSecret, verifySecret } from '../crypto.js'
import { AuthClientInvalidError, FieldError, NotFoundError } from '../errors.js'
import { recordEvent } from '../events.js'
import { decodeCursor, paginate } from '../pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../schemas.js'
import { AuthBlockedError } from '../auth/blocklist.js'
import { addressMatcher, AuthAddressNotAllowedError, canonicalAddresses } from '../auth/terminal-control.js'
import type { TokenIssuer } from '../auth/token.js'
import { AuthVendorAgreementExpiredError, ClientNotVendorError } from './errors.js'
import { agreementOf, createClientRepository, toClientView } from './repository.js'
import {
  ClientPageSchema, ClientParamsSchema, CreateClientSchema, CreatedClientSchema, HolderBodySchema, ListClientsQuerySchema,
  RenewAgreementSchema, ServiceClientSchema, TokenRequestSchema, TokenResponseSchema, UpdateClientSchema
} from './schemas.js'
import { checkAgreement, kindOf, tokenLifetime } from './vendor-agreement.js'

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

  async function event (trx: Transaction<Database>, request: FastifyRequest, action: string, row: ServiceClient, details: Record<string, unknown>) {
    await recordEvent(trx, {
      service: 'platform',
      action: `client.${action}`,
      actor: request.principal!,
      objectType: 'service_client',
      objectId: row.client_id,
      requestId: String(request.id),
      details: { unit: row.unit_code, name: row.name, kind: row.kind, ...details }
    })
  }

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
    const { kind, vendor } = kindOf(request.body)
    const allowedAddresses = canonicalAddresses(request.body.allowedAddresses ?? [])
    const secret = newSecret()
    const secretHash = await hashSecret(secret)
    const row = await app.db.transaction().execute(async (trx) => {
      const created = await clients.create({
        clientId: `dgc_${randomBytes(12).toString('base64url')}`,
        name: request.body.name,
        unit: request.body.unit,
        roles: request.body.roles,
        secretHash,
        holder: request.body.holder ?? null,
        kind,
        vendor,
        createdBy: request.principal!.sub,
        allowedAddresses
      }, trx)
      await event(trx, request, 'create', created, {
        roles: created.roles, holder: created.holder_sub, allowedAddresses, ...(vendor ? { vendor: vendor.name, agreement: agreementOf(created) } : {})
      })
      return created
    })
    if (allowedAddresses.length > 0) await app.terminalControl.refresh()
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
    const { name, allowedAddresses } = request.body
    const changes = { ...(name !== undefined ? { name } : {}), ...(allowedAddresses !== undefined ? { allowedAddresses: canonicalAddresses(allowedAddresses) } : {}) }
    const row = await app.db.transaction().execute(async (trx) => {
      const before = await clients.find(request.params.clientId, trx, { lock: true })
      if (!before) throw new NotFoundError(`no client ${request.params.clientId}`)
      const after = await clients.update(before.client_id, changes, trx)
      await event(trx, request, 'update', after, {
        before: { name: before.name, allowedAddresses: before.allowed_addresses },
        after: { name: after.name, allowedAddresses: after.allowed_addresses }
      })
      return after
    })
    if (changes.allowedAddresses !== undefined) await app.terminalControl.refresh()
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
    const row = await app.db.transaction().execute(async (trx) => {
      const disabled = await clients.disable(request.params.clientId, trx)
      if (!disabled) return await clients.find(request.params.clientId, trx)
      await event(trx, request, 'disable', disabled, { before: { status: 'active' }, after: { status: 'disabled' } })
      return disabled
    })
    if (!row) throw new NotFoundError(`no client ${request.params.clientId}`)
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
    const row = await app.db.transaction().execute(async (trx) => {
      const before = await clients.find(request.params.clientId, trx, { lock: true })
      if (!before) throw new NotFoundError(`no client ${request.params.clientId}`)
      const after = await clients.setHolder(before.client_id, request.body.holder, trx)
      await event(trx, request, 'holder', after, { before: { holder: before.holder_sub }, after: { holder: after.holder_sub } })
      return after
    })
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
    checkAgreement(request.body, '')
    const row = await app.db.transaction().execute(async (trx) => {
      const before = await clients.find(request.params.clientId, trx, { lock: true })
      if (!before) throw new NotFoundError(`no client ${request.params.clientId}`)
      if (before.kind !== 'vendor') throw new ClientNotVendorError(before.client_id)
      const after = await clients.renewAgreement(before.client_id, request.body, request.principal!.sub, trx)
      await event(trx, request, 'agreement', after, { vendor: after.vendor_name, before: agreementOf(before), after: agreementOf(after) })
      return after
    })
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
