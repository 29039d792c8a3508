/** Which services there are, the API paths each owns and how processes find them: read by the gateway and the composition root. */
/** The services of docs/architecture.md. Each owns the API path prefixes listed here; the gateway routes by them. */
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
