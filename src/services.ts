import type { FastifyPluginAsync } from 'fastify'
import audit from './audit/plugin.js'
import authorization from './authorization/plugin.js'
import catalog from './catalog/plugin.js'
import masking from './masking/plugin.js'

/** The services of DESIGN.md. Each owns the API path prefixes listed here; the gateway routes by them. */
export const SERVICES = ['catalog', 'authorization', 'masking', 'audit'] as const
export type ServiceName = typeof SERVICES[number]

/** What one process serves: everything, the front door, or one service. */
export type RunMode = 'all' | 'gateway' | ServiceName
export const RUN_MODES: readonly RunMode[] = ['all', 'gateway', ...SERVICES]

export const SERVICE_PREFIXES: Record<ServiceName, readonly string[]> = {
  catalog: ['/api/v1/units', '/api/v1/datasets', '/api/v1/grading-policy', '/api/v1/systems', '/api/v1/retention', '/api/v1/destructions'],
  authorization: ['/api/v1/share-requests', '/api/v1/agreements', '/api/v1/grants', '/api/v1/principals', '/api/v1/open-requests', '/api/v1/consents', '/api/v1/purposes'],
  masking: ['/api/v1/masking'],
  audit: ['/api/v1/audit']
}

/** The environment variable that tells the gateway where each service runs. */
export const SERVICE_URL_VARIABLES = {
  catalog: 'CATALOG_URL',
  authorization: 'AUTHORIZATION_URL',
  masking: 'MASKING_URL',
  audit: 'AUDIT_URL'
} as const satisfies Record<ServiceName, string>

/**
 * Route plugins of each service, mounted under /api/v1. A service whose routes have not been built
 * yet still runs (health, metrics, readiness) so that the topology can be deployed and tested.
 */
export const SERVICE_ROUTES: Partial<Record<ServiceName, FastifyPluginAsync>> = {
  catalog,
  authorization,
  masking,
  audit
}
