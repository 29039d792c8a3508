import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { keysetPage, SEQ_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { OffboardingNotFoundError } from './errors.js'
import { createOffboarding } from './offboard.js'
import { createPrincipalRepository, toOffboardingView, toPrincipalView } from './repository.js'
import {
  ListOffboardedQuerySchema, ListPrincipalsQuerySchema, OffboardingPageSchema, OffboardingQuerySchema, OffboardingSchema, OffboardSchema,
  PrincipalPageSchema, PrincipalParamsSchema
} from './schemas.js'

const tags = ['principals']
const offboarders = { roles: ['system_admin', 'security_admin'] } as const
const readers = { roles: ['system_admin', 'security_admin', 'auditor'] } as const

/**
 * Who holds which role (R1.2, 004 §25): the role assignments seen on accepted tokens; and people
 * leaving (离岗, R1.4): everything they hold is revoked at once, and their confidentiality period is on record.
 */
export const principalRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const principals = createPrincipalRepository(app.db)
  const offboard = createOffboarding(app.db)

  app.get('/principals', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List who holds which role',
      description: 'Every role assignment the platform has accepted a token for (its own tokens, service clients\' and the campus ' +
        'identity provider\'s), one entry per issuer, subject, unit and set of roles, with the latest token id and expiry and the first ' +
        'and last use, so that the office reviews role assignments (R1.2). Each process registers the tokens it accepts in memory ' +
        'and writes them every `PRINCIPALS_FLUSH_MS` (5 s), so the last use can be that far behind. `role` keeps the assignments ' +
        'that include a role, `unit` those of one unit. In the order first seen, cursor-paginated. Tokens themselves are never kept.',
      operationId: 'listPrincipals',
      querystring: ListPrincipalsQuerySchema,
      response: { 200: PrincipalPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query
    const { page, nextCursor } = await keysetPage({ limit, cursor }, {
      key: SEQ_KEY,
      as: 'afterId',
      fetch: async (p) => {
        // what this process saw meanwhile (the caller's own token included) is written first
        await app.principalRegistry.flush().catch((err: unknown) => { request.log.warn({ err: { message: (err as Error).message } }, 'principals: could not be written') })
        return await principals.listSeen({ ...filter, ...p })
      },
      keyOf: (p) => [p.id]
    })
    return { data: page.map(toPrincipalView), nextCursor }
  })

  app.post('/principals/:sub/offboard', {
    config: { access: offboarders },
    schema: {
      tags,
      summary: 'Offboard a departing person',
      description: 'Revokes at once everything the person holds, in one transaction (R1.4): every active or suspended grant to them ' +
        '(`subject` = sub) is revoked, every share request they filed that is pending review or approved is withdrawn (its unsigned ' +
        'tripartite agreement void), and every service client they hold (`holder`) is disabled. The departure is recorded with its ' +
        'one-year confidentiality period (脱岗管理期, 001 §53) and, for key people, the exit audit (离任审计, 004 §7). Offboarding the ' +
        'same person from the same unit twice is 409 and changes nothing.',
      operationId: 'offboardPrincipal',
      params: PrincipalParamsSchema,
      body: OffboardSchema,
      response: { 200: OffboardingSchema, ...problems(...AUTHENTICATED_PROBLEMS, 409, 413, 415) }
    }
  }, async (request) => {
    const done = await offboard(request.params.sub, request.body, request.principal!, String(request.id))
    await app.blocklist.refresh() // this process refuses the person's tokens at once; others within a second
    return toOffboardingView(done)
  })

  app.get('/principals/:sub/offboarding', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get a person\'s offboarding',
      description: 'The recorded departure of the person: what was revoked, whether an exit audit is due, and the end of the ' +
        'confidentiality period. With `unit`, the departure from that unit; otherwise the latest. 404 when none is recorded.',
      operationId: 'getOffboarding',
      params: PrincipalParamsSchema,
      querystring: OffboardingQuerySchema,
      response: { 200: OffboardingSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await principals.find(request.params.sub, request.query.unit)
    if (!row) throw new OffboardingNotFoundError(request.query.unit ? `${request.params.sub} from unit ${request.query.unit}` : request.params.sub)
    return toOffboardingView(row)
  })

  app.get('/principals/offboarded', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List offboarded people',
      description: 'Departures, newest first, cursor-paginated; `inConfidentiality=true` keeps the people still in their one-year ' +
        'confidentiality period, `unit` those who left one unit.',
      operationId: 'listOffboarded',
      querystring: ListOffboardedQuerySchema,
      response: { 200: OffboardingPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query
    const { page, nextCursor } = await keysetPage({ limit, cursor }, {
      key: SEQ_KEY, as: 'beforeSeq', fetch: (p) => principals.list({ ...filter, ...p }), keyOf: (o) => [o.seq]
    })
    const now = Date.now()
    return { data: page.map((o) => toOffboardingView(o, now)), nextCursor }
  })
}
