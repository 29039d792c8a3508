import type { FastifyPluginAsync } from 'fastify'
import audit from './audit/plugin.js'
import authorization from './authorization/plugin.js'
import catalog from './catalog/plugin.js'
import masking from './masking/plugin.js'
import type { ServiceName } from './platform/topology.js'

export { RUN_MODES, SERVICES, SERVICE_PREFIXES, SERVICE_URL_VARIABLES, type RunMode, type ServiceName } from './platform/topology.js'

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
