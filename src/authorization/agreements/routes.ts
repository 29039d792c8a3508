import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { IdParamsSchema } from '../share-requests/schemas.js'
import { AgreementSchema, SignatureBodySchema } from './schemas.js'
import { createAgreementService } from './service.js'

const tags = ['agreements']

/** Tripartite agreements (三方协议, R7.3, R7.4): read by their parties, signed by each. */
export const agreementRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = createAgreementService(app.db)

  app.get('/agreements/:id', {
    config: { access: { roles: ['consumer', 'steward', 'security_admin', 'auditor'] } },
    schema: {
      tags,
      summary: 'Get an agreement',
      description: 'The agreement text with its digests, signatures and the parties yet to sign. Visible to its parties, the office and auditors; 404 to others.',
      operationId: 'getAgreement',
      params: IdParamsSchema,
      response: { 200: AgreementSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => await service.get(request.params.id, request.principal!))

  app.post('/agreements/:id/signatures', {
    config: { access: { roles: ['consumer', 'steward', 'security_admin'] } },
    schema: {
      tags,
      summary: 'Sign an agreement',
      description: 'The caller signs for the party it represents: the consumer unit (consumer or steward), the producer unit (steward) or the office ' +
        '(security_admin); signing for another party is 403, twice 409. The third signature completes the agreement; the grant follows once the ' +
        'usage commitment is signed too.',
      operationId: 'signAgreement',
      params: IdParamsSchema,
      body: SignatureBodySchema,
      response: { 200: AgreementSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => await service.sign(request.params.id, request.body.party, request.principal!, String(request.id)))
}
