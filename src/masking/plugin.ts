import type { FastifyInstance } from 'fastify'
import { loadMaskingKey } from './keys.js'
import { policyRoutes } from './policy-routes.js'
import { maskingRoutes } from './routes.js'

/**
 * The masking service: the strategy catalogue, stateless masking of rows, PI detection,
 * re-identification risk, detokenization for the office, and the versioned policies of datasets.
 * The engine itself (engine.ts, policy.ts) is plain TypeScript the data path calls in-process.
 */
export default async function masking (app: FastifyInstance) {
  const key = loadMaskingKey(app.config, { generate: true })
  await app.register(maskingRoutes, { key })
  await app.register(policyRoutes, { key })
}
