import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { FieldError } from '../platform/errors.js'
import { recordEvent } from '../platform/events.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../platform/schemas.js'
import { anonymity } from './anonymity.js'
import { detect } from './detect.js'
import { compileRules, type Row, type Rules } from './engine.js'
import { TooManyRowsError } from './errors.js'
import { detokenize, type MaskingKey } from './keys.js'
import { MASKING_PI_TYPES } from './pi-formats.js'
import { effectiveRules } from './policy.js'
import { PROFILES } from './profiles.js'
import { createPolicyRepository } from './repository.js'
import {
  AnonymityBodySchema, AnonymityResultSchema, ApplyBodySchema, ApplyResultSchema, DetectBodySchema, DetectResultSchema,
  DetokenizeBodySchema, DetokenizeResultSchema, MASKING_BODY_LIMIT_BYTES, MAX_ROWS, StrategiesSchema
} from './schemas.js'
import { STRATEGIES } from './strategies.js'

const tags = ['masking']
/** Callers that hold rows to mask or inspect: producer stewards, consumers, the office. */
const rowHandlers = { roles: ['steward', 'consumer', 'security_admin'] } as const

/** Before schema validation, so that too many rows is a 413 rather than a 400. */
const rowLimit = async (request: FastifyRequest) => {
  const rows = (request.body as { rows?: unknown } | null)?.rows
  if (Array.isArray(rows) && rows.length > MAX_ROWS) throw new TooManyRowsError(MAX_ROWS, rows.length)
}

/** Scope of the apply endpoint: always inside the caller's unit, so it can never reproduce a grant's hashes or tokens. */
export const applyScope = (unit: string, scope: string | undefined) => `apply:${unit}:${scope ?? ''}`

export const maskingRoutes: FastifyPluginAsyncTypebox<{ key: MaskingKey }> = async (app, { key }) => {
  const datasets = app.ports.datasets
  const policies = createPolicyRepository(app.db)
  const bodyLimit = Math.max(MASKING_BODY_LIMIT_BYTES, app.initialConfig.bodyLimit ?? 0)

  app.get('/masking/strategies', {
    config: { access: 'authenticated' },
    schema: {
      tags,
      summary: 'Masking strategies',
      description: 'Every strategy with its parameters (as JSON Schema), the PI types a rule may name and the scenario profiles.',
      operationId: 'listMaskingStrategies',
      response: { 200: StrategiesSchema, ...problems(...AUTHENTICATED_PROBLEMS) }
    }
  }, async () => ({
    strategies: Object.values(STRATEGIES).map((s) => ({
      name: s.name, description: s.description, reversible: s.reversible, deterministic: s.deterministic, params: s.params
    })),
    piTypes: [...MASKING_PI_TYPES],
    profiles: [...PROFILES]
  }))

  app.post('/masking/apply', {
    config: { access: rowHandlers, bodyNeverStored: true },
    bodyLimit,
    preValidation: rowLimit,
    schema: {
      tags,
      summary: 'Mask rows',
      description: 'Masks up to 10,000 rows with the given `rules` (fields without a rule pass), or with the policy of `dataset` in ' +
        '`profile` (default display; fields the dataset does not define are dropped, and a PI field without an applicable rule is ' +
        'dropped too: fail closed). A rule naming a `piType` and no parameters takes the type\'s default format. Keyed strategies ' +
        '(hash, tokenize, surrogate, noise) are keyed by the caller\'s unit and `scope`. Stateless: nothing is stored.',
      operationId: 'applyMasking',
      body: ApplyBodySchema,
      response: { 200: ApplyResultSchema, ...problems(...AUTHENTICATED_PROBLEMS, 404, 413, 415) }
    }
  }, async (request) => {
    const { rows, rules, dataset, profile, scope } = request.body
    const principal = request.principal!
    if ((rules === undefined) === (dataset === undefined)) throw new FieldError('rules', 'give either rules or a dataset (with a profile)')
    if (rules && profile) throw new FieldError('profile', 'applies to a dataset\'s policy only')
    const ctx = { key, scope: applyScope(principal.unit, scope), today: new Date() }
    let mask
    let changed: (field: string) => boolean
    let policyVersion: number | null = null
    if (rules) {
      mask = compileRules(rules as Rules, ctx)
      changed = (f) => Object.hasOwn(rules, f) && rules[f]!.strategy !== 'keep'
    } else {
      const row = await datasets.visible(dataset!, principal)
      const policy = await policies.find(row.code)
      policyVersion = policy?.version ?? 0
      // pseudonyms of one profile do not link to another's: internal hashes are not third-party hashes
      const scoped = { ...ctx, scope: `${ctx.scope}:${profile ?? 'display'}` }
      const effective = effectiveRules(row.fields, policy?.profiles ?? {}, profile ?? 'display', scoped)
      const policyRules: Rules = {}
      for (const [name, { rule }] of Object.entries(effective)) policyRules[name] = rule
      mask = compileRules(policyRules, scoped, { others: 'redact' })
      changed = (f) => !Object.hasOwn(policyRules, f) || policyRules[f]!.strategy !== 'keep'
    }
    const out = (rows as Row[]).map(mask)
    const seen = new Set<string>()
    for (const r of rows as Row[]) for (const f in r) seen.add(f)
    return { rows: out, masked: [...seen].filter(changed), profile: rules ? null : (profile ?? 'display'), policyVersion }
  })

  app.post('/masking/detect', {
    config: { access: rowHandlers, bodyNeverStored: true },
    bodyLimit,
    preValidation: rowLimit,
    schema: {
      tags,
      summary: 'Detect personal information',
      description: 'For each field of up to 10,000 rows, the PI type its values most likely hold, with confidence and the count of ' +
        'matching values: ID numbers by GB 11643 region, date and check digit; mobiles by carrier prefix; bank cards by Luhn; ' +
        'e-mails; Chinese names by surname; addresses; birth dates; the 56 ethnic groups of GB 3304; religions; unified social ' +
        'credit codes by their check character; passports, plates, IP addresses. Proposes a default rule per field and lists ' +
        'the rows about children under 14 (R9.3).',
      operationId: 'detectPersonalInformation',
      body: DetectBodySchema,
      response: { 200: DetectResultSchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request) => detect(request.body.rows as Row[]))

  app.post('/masking/anonymity', {
    config: { access: rowHandlers, bodyNeverStored: true },
    bodyLimit,
    preValidation: rowLimit,
    schema: {
      tags,
      summary: 'Re-identification risk',
      description: 'k-anonymity of the rows over the quasi-identifiers, the smallest equivalence classes, l-diversity of a ' +
        'sensitive field, and a generalisation (as masking rules) that reaches the requested k (R6.4).',
      operationId: 'assessAnonymity',
      body: AnonymityBodySchema,
      response: { 200: AnonymityResultSchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request) => {
    const { rows, quasiIdentifiers, k, sensitive, smallest } = request.body
    const typed = rows as Row[]
    quasiIdentifiers.forEach((f, i) => {
      if (typed.length > 0 && !typed.some((r) => Object.hasOwn(r, f))) throw new FieldError(`quasiIdentifiers.${i}`, 'no row has this field')
    })
    if (sensitive !== undefined && quasiIdentifiers.includes(sensitive)) throw new FieldError('sensitive', 'is one of the quasi-identifiers')
    return anonymity({ rows: typed, quasiIdentifiers, k, sensitive, smallest }, { key, scope: 'anonymity', today: new Date() })
  })

  app.post('/masking/detokenize', {
    config: { access: { roles: ['security_admin'] } },
    schema: {
      tags,
      summary: 'Detokenize',
      description: 'The office turns tokens of the tokenize strategy back into values, for one scope. Every call is recorded as a domain event (counts only).',
      operationId: 'detokenize',
      body: DetokenizeBodySchema,
      response: { 200: DetokenizeResultSchema, ...problems(...AUTHENTICATED_PROBLEMS, 413, 415) }
    }
  }, async (request) => {
    const { scope, tokens } = request.body
    const values = tokens.map((t) => detokenize(key, scope, t))
    await recordEvent(app.db, {
      service: 'masking',
      action: 'tokens.detokenize',
      actor: request.principal!,
      objectType: 'token_scope',
      objectId: scope,
      requestId: String(request.id),
      details: { tokens: tokens.length, resolved: values.filter((v) => v !== null).length }
    })
    return { values }
  })
}
