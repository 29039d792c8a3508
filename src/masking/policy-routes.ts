import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { isOffice } from '../platform/auth/roles.js'
import type { Dataset, MaskingPolicy } from '../db/database.js'
import type { Principal } from '../platform/auth/plugin.js'
import { keysetPage, NUMBER_KEY } from '../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../platform/schemas.js'
import type { MaskingKey } from './keys.js'
import { checkPolicy, effectiveRules, type PolicyProfiles } from './policy.js'
import { PROFILES } from './profiles.js'
import { createPolicyService } from './policy-service.js'
import { createPolicyRepository } from './repository.js'
import { PolicyParamsSchema, PolicySchema, PolicyVersionPageSchema, PolicyVersionsQuerySchema, PutPolicySchema } from './schemas.js'
import type { CompileContext } from './strategies.js'

const tags = ['masking']
const readers = { roles: ['security_admin', 'auditor', 'steward'] } as const

/** Policies of datasets: the office edits them; the office, auditors and the producer unit's stewards read them. */
export const policyRoutes: FastifyPluginAsyncTypebox<{ key: MaskingKey }> = async (app, { key }) => {
  const datasets = app.ports.datasets
  const policies = createPolicyRepository(app.db)
  const service = createPolicyService(app.db)
  // validation only: no keyed output leaves these routes
  const ctx = (): CompileContext => ({ key, scope: 'policy-check', today: new Date() })

  /** A steward reads its own unit's policies only; another unit's dataset does not exist for it. */
  async function readable (code: string, principal: Principal): Promise<Dataset> {
    const row = await datasets.find(code)
    if (!row || (!isOffice(principal) && row.producer_unit !== principal.unit)) throw datasets.notFound(code)
    return row
  }

  function view (dataset: Dataset, policy: MaskingPolicy | null) {
    const profiles = policy?.profiles ?? {}
    const c = ctx()
    const effective = Object.fromEntries(PROFILES.map((p) => [p, effectiveRules(dataset.fields, profiles, p, c)]))
    return {
      dataset: dataset.code,
      version: policy?.version ?? 0,
      profiles,
      effective: effective as never,
      updatedBy: policy?.updated_by ?? null,
      updatedAt: policy?.updated_at.toISOString() ?? null
    }
  }

  app.get('/masking/policies/:dataset', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Get a dataset\'s masking policy',
      description: 'The rules the office set per profile, and the effective rule of every field in every profile with its source: ' +
        'the policy, the field\'s default rule in the catalog, the PI type\'s default (by type and sensitivity), or fail_closed ' +
        '(a PI field with no applicable rule is dropped). Stewards read their own unit\'s datasets only.',
      operationId: 'getMaskingPolicy',
      params: PolicyParamsSchema,
      response: { 200: PolicySchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await readable(request.params.dataset, request.principal!)
    return view(row, await policies.find(row.code))
  })

  app.put('/masking/policies/:dataset', {
    config: { access: { roles: ['security_admin'] } },
    schema: {
      tags,
      summary: 'Set a dataset\'s masking policy',
      description: 'Replaces the rules of every profile (fields left out take their defaults) as a new version, with its reason. ' +
        'Rules for fields the dataset does not have, unknown strategies or parameters are 400s naming the rule ' +
        '(`profiles.display.phone.strategy`); `keep` of personal information in third_party is refused (R7.6). ' +
        '`expectedVersion` guards against concurrent edits (409).',
      operationId: 'putMaskingPolicy',
      params: PolicyParamsSchema,
      body: PutPolicySchema,
      response: { 200: PolicySchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 409, 413, 415) }
    }
  }, async (request) => {
    const principal = request.principal!
    const row = await datasets.find(request.params.dataset)
    if (!row) throw datasets.notFound(request.params.dataset)
    const { profiles, reason, expectedVersion } = request.body
    checkPolicy(row.fields, profiles as PolicyProfiles, ctx())
    const saved = await service.save({ dataset: row.code, profiles: profiles as PolicyProfiles, reason, expectedVersion }, principal, String(request.id))
    return view(row, saved)
  })

  app.get('/masking/policies/:dataset/versions', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Versions of a masking policy',
      description: 'Every version of the policy with who changed it and why, newest first.',
      operationId: 'listMaskingPolicyVersions',
      params: PolicyParamsSchema,
      querystring: PolicyVersionsQuerySchema,
      response: { 200: PolicyVersionPageSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404) }
    }
  }, async (request) => {
    const row = await readable(request.params.dataset, request.principal!)
    const { page, nextCursor } = await keysetPage(request.query, {
      key: NUMBER_KEY, as: 'before', fetch: (p) => policies.versions(row.code, p), keyOf: (v) => [v.version]
    })
    return {
      data: page.map((v) => ({
        version: v.version,
        profiles: v.profiles,
        reason: v.reason,
        changedBy: v.changed_by,
        changedAt: v.changed_at.toISOString()
      })),
      nextCursor
    }
  })
}
