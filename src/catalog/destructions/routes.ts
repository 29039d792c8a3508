import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Destruction } from '../../db/database.js'
import { keysetPage, SEQ_KEY } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { toCertificateView } from './certificate.js'
import { CertificateNotFoundError, DestructionNotFoundError } from './errors.js'
import { createDestructionExecution } from './execute.js'
import { createDestructionRepository } from './repository.js'
import {
  CertificateSchema, CreateDestructionSchema, DestructionPageSchema, DestructionReviewBodySchema, DestructionSchema,
  ExecuteBodySchema, IdParamsSchema, ListDestructionsQuerySchema, WitnessBodySchema
} from './schemas.js'
import { canSeeDestruction, listScope, toDestructionView } from './view.js'
import { createDestructionWorkflow } from './workflow.js'

const tags = ['destructions']
const readers = { roles: ['steward', 'security_admin', 'auditor', 'supervisor'] } as const

/**
 * Supervised destruction (数据销毁, R10): a proposal, the reviews of the producer's steward and the
 * office, a supervisor's witness, execution by the office, and a permanent certificate.
 */
export const destructionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const repo = createDestructionRepository(app.db)
  const workflow = createDestructionWorkflow(app.db, app.encryption)
  const execute = createDestructionExecution(app.db, app.encryption, app.ports.sharing)

  async function views (rows: Destruction[]) {
    const ids = rows.map((r) => r.id)
    const [reviews, certificates] = await Promise.all([repo.reviewsOf(ids), repo.certificatesOf(ids)])
    return rows.map((r) => toDestructionView(r, reviews, certificates.find((c) => c.destruction_id === r.id)))
  }
  const view = async (row: Destruction) => (await views([row]))[0]!

  app.post('/destructions', {
    config: { access: { roles: ['steward', 'security_admin'] } },
    schema: {
      tags,
      summary: 'Propose a destruction',
      description: 'A steward of the producer unit, or the office (security_admin), proposes destroying a whole dataset (`all`), the ' +
        'records a row filter selects (`filter`), or the records past the retention period (`expired`: first stored before now − ' +
        '`retentionDays`, the cutoff fixed now), with the reason. The proposal starts `pending_review` with the number of records in ' +
        'scope. A dataset has at most one open `expired` proposal (409 for a second); the retention sweep opens them by itself.',
      operationId: 'createDestruction',
      body: CreateDestructionSchema,
      response: { 201: DestructionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 409, 413, 415) }
    }
  }, async (request, reply) => {
    const row = await workflow.propose(request.body, request.principal!, String(request.id))
    return reply.code(201).send(await view(row))
  })

  app.get('/destructions', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'List destructions',
      description: 'Newest first. The office, auditors and supervisors see every proposal; a unit\'s stewards those on its datasets.',
      operationId: 'listDestructions',
      querystring: ListDestructionsQuerySchema,
      response: { 200: DestructionPageSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async (request) => {
    const { limit, cursor, ...filter } = request.query
    const unit = listScope(request.principal!)
    const { page, nextCursor } = await keysetPage({ limit, cursor }, {
      key: SEQ_KEY, as: 'beforeSeq', fetch: (p) => repo.list({ ...filter, ...p, ...(unit !== null ? { producerUnit: unit } : {}) }), keyOf: (r) => [r.seq]
    })
    return { data: await views(page), nextCursor }
  })

  app.get('/destructions/:id', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get a destruction',
      description: 'The proposal with its reviews, witness, execution and certificate digest. Other units\' destructions are 404.',
      operationId: 'getDestruction',
      params: IdParamsSchema,
      response: { 200: DestructionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await repo.find(request.params.id)
    if (!row || !canSeeDestruction(request.principal!, row)) throw new DestructionNotFoundError(request.params.id)
    return await view(row)
  })

  app.post('/destructions/:id/reviews', {
    config: { access: { roles: ['steward', 'security_admin'] } },
    schema: {
      tags,
      summary: 'Review a destruction',
      description: 'The producer unit\'s steward and the office (security_admin) each approve or reject once (409 the second time); ' +
        'one person holds one part of a destruction: the proposer does not review, nor does one person give both reviews (403 ' +
        'naming the conflict, whatever roles the token holds); a rejection states its reason and ends the proposal. With both ' +
        'approvals the destruction is `approved` and waits for its witness.',
      operationId: 'reviewDestruction',
      params: IdParamsSchema,
      body: DestructionReviewBodySchema,
      response: { 200: DestructionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => await view(await workflow.review(request.params.id, request.body, request.principal!, String(request.id))))

  app.post('/destructions/:id/witness', {
    config: { access: { roles: ['supervisor'] } },
    schema: {
      tags,
      summary: 'Witness a destruction',
      description: 'A destruction supervisor witnesses an approved destruction (监销, R10.2); 409 before the approvals. A supervisor ' +
        'who proposed or reviewed it may not (403 naming the conflict).',
      operationId: 'witnessDestruction',
      params: IdParamsSchema,
      body: WitnessBodySchema,
      response: { 200: DestructionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => await view(await workflow.witness(request.params.id, request.body.note, request.principal!, String(request.id))))

  app.post('/destructions/:id/execute', {
    config: { access: { roles: ['security_admin'] } },
    schema: {
      tags,
      summary: 'Execute a destruction',
      description: 'The office executes an approved and witnessed destruction (409 otherwise; 403 for its proposer, a reviewer or ' +
        'the witness: one person holds one part), naming its ' +
        'dataset again in `confirm` (400 otherwise). In one ' +
        'transaction the records in scope are deleted; a whole dataset is also marked `destroyed`, its grants revoked (every ' +
        'gateway stops serving them within a second) and its data key destroyed (crypto-shredding); then the certificate is ' +
        'issued (`GET …/certificate`) and its digest recorded in the audit log.',
      operationId: 'executeDestruction',
      params: IdParamsSchema,
      body: ExecuteBodySchema,
      response: { 200: DestructionSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => await view(await execute(request.params.id, request.body.confirm, request.principal!, String(request.id))))

  app.get('/destructions/:id/certificate', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Certificate of a destruction',
      description: 'What was destroyed (dataset, scope, number of records, a digest of their keys), when, proposed, approved and ' +
        'witnessed by whom, executed by whom, the method (`delete`, or `delete+crypto-shred` when the data key was destroyed), ' +
        'the grants revoked, what copies remain, and SHA-256 and SM3 digests of it all. Certificates cannot be changed or ' +
        'deleted, and outlive the data. 404 before execution.',
      operationId: 'getDestructionCertificate',
      params: IdParamsSchema,
      response: { 200: CertificateSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const { id } = request.params
    const row = await repo.find(id)
    if (!row || !canSeeDestruction(request.principal!, row)) throw new DestructionNotFoundError(id)
    const certificate = await repo.certificateOf(id)
    if (!certificate) throw new CertificateNotFoundError(`destruction ${id} is ${row.status}: a certificate is issued when it is executed`)
    return toCertificateView(certificate)
  })
}
