import { resolve } from 'node:path'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { ALERT_RULES, ALERT_SETTINGS } from './audit/alerts/registry.js'
import { ConfigError } from './platform/config-error.js'

const Url = (description: string) => Type.String({ pattern: '^https?://[^\\s]+$', description })
/** A comma-separated list of calendar days. */
const DAY_LIST = '^\\d{4}-\\d{2}-\\d{2}(,\\d{4}-\\d{2}-\\d{2})*$'
const PostgresUrl = Type.String({ pattern: '^postgres(ql)?://[^\\s]+$', description: 'PostgreSQL connection URI; unset means embedded PGlite' })

/**
 * Every environment variable Datagate reads. The README's configuration table is written from this
 * schema: keep the two in step.
 */
export const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'TCP port to listen on' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'interface to bind (the image sets 0.0.0.0)' }),
  WORKERS: Type.Integer({ minimum: 0, maximum: 256, default: 1, description: 'serve: processes answering on the port (Node cluster: each new connection goes to the next), 0 = one per core; more than one needs DATABASE_URL (PGlite is single-process); rate limits and caches are per process' }),
  DATAGATE_DATA_DIR: Type.String({ minLength: 1, default: './data', description: 'embedded database and generated keys' }),
  DATABASE_URL: Type.Optional(PostgresUrl),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 200, default: 10, description: 'PostgreSQL pool size' }),
  DATABASE_SSL: Type.Enum(['off', 'require', 'verify-full'], { default: 'off', description: 'TLS to PostgreSQL' }),
  DATABASE_SSL_CA_FILE: Type.Optional(Type.String({ minLength: 1, description: 'CA bundle for DATABASE_SSL=verify-full' })),
  TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1, description: 'HTTPS: PEM certificate (chain) this process serves, with TLS_KEY_FILE; unset means plain HTTP' })),
  TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'HTTPS: PEM private key of TLS_CERT_FILE' })),
  STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 5000, description: 'server-side statement timeout; also bounds a client wait on a frozen database' }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 500, maximum: 600000, default: 15000, description: 'deadline for one request, body included' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 104857600, default: 1048576, description: 'largest accepted request body' }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 1200, description: 'requests per window and caller (token subject, else IP)' }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1000, default: 60000, description: 'rate-limit window' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'pino log level' }),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'trust X-Forwarded-* from a load balancer' }),
  DOCS_ENABLED: Type.Boolean({ default: true, description: 'serve the Swagger UI at /docs' }),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'datagate', description: '`iss` of tokens Datagate signs, and accepted' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'datagate', description: '`aud` every accepted token must carry' }),
  JWT_ALGORITHM: Type.Enum(['EdDSA', 'ES256'], { default: 'EdDSA', description: 'algorithm of the generated signing key' }),
  JWT_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1, description: 'PEM signing key (PKCS#8); otherwise read from or generated into the data dir' })),
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1, description: 'PEM verification key, for processes that verify but never sign' })),
  JWT_CLOCK_SKEW_S: Type.Integer({ minimum: 0, maximum: 300, default: 30, description: 'tolerated clock difference for exp and nbf' }),
  JWT_MAX_TTL_S: Type.Integer({ minimum: 60, maximum: 2592000, default: 86400, description: 'longest lifetime of a token Datagate issues' }),
  CLIENT_TOKEN_TTL_S: Type.Integer({ minimum: 60, maximum: 86400, default: 3600, description: 'lifetime of client-credentials tokens' }),
  ASSET_REVIEW_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 365, description: 'asset registry: days after which a business system\'s registration is overdue for confirmation' }),
  REVIEW_DEADLINE_DAYS: Type.Integer({ minimum: 1, maximum: 60, default: 5, description: 'sharing: working days a share request\'s reviewers have before it is overdue (R7.8)' }),
  CAMPUS_HOLIDAYS: Type.Optional(Type.String({ pattern: DAY_LIST, description: 'campus calendar: public holidays (YYYY-MM-DD, comma-separated), days off for review deadlines and off-hours alerts' })),
  CAMPUS_WORKDAYS: Type.Optional(Type.String({ pattern: DAY_LIST, description: 'campus calendar: weekend days worked instead (调休, YYYY-MM-DD, comma-separated), working days for deadlines and alerts' })),
  CORRECTION_DEADLINE_DAYS: Type.Integer({ minimum: 1, maximum: 60, default: 5, description: 'data-error correction: working days on the campus calendar the producer unit has to decide a reported error in a record and, if it accepts it, to correct the record (001 §64(3))' }),
  GRANT_RECERTIFY_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 365, description: 'sharing: days after which a live grant is due for re-certification by a steward of the producer unit (004 §25), counted from its creation or its last confirmation' }),
  GRANT_RECERTIFY_GRACE_DAYS: Type.Integer({ minimum: 0, maximum: 365, default: 30, description: 'sharing: days a due grant may stay unconfirmed before the sweep suspends it' }),
  REVIEW_SWEEP_SECONDS: Type.Integer({ minimum: 1, maximum: 86400, default: 60, description: 'sharing and corrections: how often overdue reviews and overdue data-error corrections are looked for and reported to the audit log' }),
  RETENTION_SWEEP_SECONDS: Type.Integer({ minimum: 0, maximum: 604800, default: 3600, description: 'retention: how often each catalog process looks for datasets with records past their retention period and opens one destruction proposal per dataset (one instance at a time, under an advisory lock); 0 disables' }),
  ENCRYPTION_SWEEP_SECONDS: Type.Integer({ minimum: 0, maximum: 86400, default: 60, description: 'encryption at rest: how often each catalog process looks for records still holding a personal-information value in the clear (after an upgrade) or masked forms of an older masking policy, and seals or remakes them, a thousand records per transaction; also once at start-up; 0 disables' }),
  PI_EXTERNAL_APPROVAL_PERSONS: Type.Integer({ minimum: 1, default: 200000, description: 'sharing: personal information of this many persons or more needs an external-approval reference (R9.4)' }),
  JWKS_URL: Type.Optional(Url('JWKS of the campus identity provider, whose tokens are accepted beside Datagate\'s own')),
  JWKS_ISSUER: Type.Optional(Type.String({ minLength: 1, description: '`iss` of the campus identity provider (required with JWKS_URL)' })),
  CATALOG_URL: Type.Optional(Url('gateway: where the catalog service runs')),
  AUTHORIZATION_URL: Type.Optional(Url('gateway: where the authorization service runs')),
  MASKING_URL: Type.Optional(Url('gateway: where the masking service runs')),
  AUDIT_URL: Type.Optional(Url('gateway: where the audit service runs')),
  MASKING_KEY: Type.Optional(Type.String({ minLength: 44, description: 'base64 masking secret (32 bytes or more) keying hash, tokenize, surrogate and noise; otherwise read from or generated into the data dir' })),
  DATAGATE_MASTER_KEY: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'master key (64 hex characters, 256 bits) wrapping the data keys of encrypted fields and keying backups; otherwise DATAGATE_MASTER_KEY_FILE, otherwise read from or generated into the data dir' })),
  DATAGATE_MASTER_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'a file holding the master key (64 hex characters)' })),
  DATAGATE_MASTER_KEY_PREVIOUS: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'during a master key rotation: the previous master key, so that data keys not yet re-wrapped still open' })),
  DATAGATE_CIPHER: Type.Enum(['aes-256-gcm', 'sm4'], { default: 'aes-256-gcm', description: 'encryption at rest of new values and keys: AES-256-GCM, or SM4-CTR with HMAC-SM3 (national algorithms)' }),
  AUDIT_HASH: Type.Enum(['sha256', 'sm3'], { default: 'sha256', description: 'hash of the audit chain for new events' }),
  AUDIT_CHECKPOINT_EVENTS: Type.Integer({ minimum: 1, maximum: 1000000, default: 1000, description: 'audit: sign a checkpoint of the chain head after this many events' }),
  AUDIT_CHECKPOINT_SECONDS: Type.Integer({ minimum: 1, maximum: 86400, default: 60, description: 'audit: and at least this often while events arrive' }),
  AUDIT_PERSON_TRACE: Type.Enum(['all', 'sensitive', 'off'], { default: 'sensitive', description: 'audit: whose reads and exports record the persons they served (keyed digests of person keys): `all` datasets holding personal information, `sensitive` those holding sensitive or children\'s personal information, `off` none; children\'s data is always traced' }),
  AUDIT_RETENTION_DAYS: Type.Integer({ minimum: 180, maximum: 36500, default: 180, description: 'audit: days events are kept (never fewer than 180)' }),
  // the alert rules' thresholds and windows (AUDIT_ALERT_*), each rule's in its module of src/audit/alerts/
  ...ALERT_SETTINGS,
  BLACKLIST_REFRESH_MS: Type.Integer({ minimum: 100, maximum: 3600000, default: 500, description: 'blacklist: how often each process reloads it; at most 1000 keeps the rule that a block takes effect everywhere within a second' }),
  PRINCIPALS_FLUSH_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 5000, description: 'who holds which role: how often each process writes the accepted tokens it saw (one statement per flush; also on shutdown)' }),
  BLACKLIST_AUTO_MINUTES: Type.Integer({ minimum: 0, maximum: 43200, default: 30, description: 'blacklist: minutes a caller is blocked automatically when a `denials` alert is raised for it; 0 disables' }),
  DATA_CACHE_REFRESH_MS: Type.Integer({ minimum: 50, maximum: 1000, default: 200, description: 'data path: how often each gateway process checks whether grants, datasets or masking policies changed; at most 1000 keeps the rule that a revocation takes effect everywhere within a second' }),
  DATA_QUOTA_SYNC_MS: Type.Integer({ minimum: 50, maximum: 5000, default: 250, description: 'data path: how often each gateway process shares the rows it served with the others (daily row quotas)' }),
  DATA_SERVER_TIMING: Type.Boolean({ default: false, description: 'data path: answer reads with a Server-Timing header (grant, query, mask, audit durations), for benchmarks' }),
  EXPORT_DIR: Type.Optional(Type.String({ minLength: 1, description: 'exports: where export files are written (sealed); default <DATAGATE_DATA_DIR>/exports. Gateways that scale out share one directory' })),
  EXPORT_TTL_HOURS: Type.Integer({ minimum: 1, maximum: 8760, default: 72, description: 'exports: hours a finished export can be downloaded; then its file is deleted and it is `expired` (it can still be traced)' }),
  EXPORT_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 100000000, default: 5000000, description: 'exports: most rows one export may hold' }),
  EXPORT_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 100, default: 2, description: 'exports: exports of one unit that may be queued or running at once (more is 429)' }),
  EXPORT_DECOY_EVERY: Type.Integer({ minimum: 0, maximum: 10000000, default: 5000, description: 'exports: one synthetic decoy row per this many real rows (at least 3 in an export of 100 rows or more); 0 writes none' }),
  OPEN_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 60, description: 'open data: requests per window and address to /open/v1 (the catalog and downloads together)' }),
  OPEN_RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1000, default: 60000, description: 'open data: window of OPEN_RATE_LIMIT_MAX' }),
  OPEN_DATA_LICENSE: Type.String({ pattern: '^https?://[^\\s]+$', default: 'https://creativecommons.org/licenses/by/4.0/', description: 'open data: URL of the licence the open catalog publishes datasets under (dct:license)' }),
  PUBLIC_BASE_URL: Type.Optional(Url('open data: the public address of this deployment (https://data.example.edu.cn), for the links of the open catalog; unset: taken from each request\'s Host'))
})

export type Env = Static<typeof EnvSchema>

declare module 'fastify' {
  interface FastifyInstance {
    /** the validated configuration of this process (decorated in app.ts) */
    config: Config
  }
}

export interface Config extends Env {
  /** absolute path of DATAGATE_DATA_DIR */
  dataDir: string
}

export { ConfigError }

/** Reads, converts and validates the environment. Unknown variables are ignored; a bad one throws naming it. */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.keys(EnvSchema.properties)
  const picked: Record<string, unknown> = {}
  for (const name of known) {
    const value = env[name]
    if (value !== undefined && value !== '') picked[name] = value
  }
  const converted = Value.Convert(EnvSchema, Value.Default(EnvSchema, picked))
  const byName = new Map<string, string>()
  for (const e of Value.Errors(EnvSchema, converted)) {
    const name = e.instancePath.replace(/^\//, '') || 'environment'
    if (byName.has(name)) continue
    const raw = picked[name]
    const allowed = (EnvSchema.properties as Record<string, { enum?: unknown[] }>)[name]?.enum
    byName.set(name, `${name}: ${allowed ? `must be one of ${allowed.join(', ')}` : e.message}` +
      (raw === undefined || isSecret(name) ? '' : ` (got ${JSON.stringify(raw)})`))
  }
  const problems = [...byName.values()]
  const config = converted as Env
  if (config.JWKS_URL && !config.JWKS_ISSUER) problems.push('JWKS_ISSUER: required when JWKS_URL is set')
  for (const rule of ALERT_RULES) problems.push(...rule.check?.(config, (name) => byName.has(name)) ?? [])
  if (config.DATABASE_SSL_CA_FILE && config.DATABASE_SSL !== 'verify-full') problems.push('DATABASE_SSL_CA_FILE: only used with DATABASE_SSL=verify-full')
  if (config.WORKERS !== 1 && !config.DATABASE_URL) problems.push('WORKERS: more than one process needs DATABASE_URL (PostgreSQL); embedded PGlite is single-process')
  if (config.TLS_CERT_FILE && !config.TLS_KEY_FILE) problems.push('TLS_KEY_FILE: required when TLS_CERT_FILE is set (HTTPS needs both)')
  if (config.TLS_KEY_FILE && !config.TLS_CERT_FILE) problems.push('TLS_CERT_FILE: required when TLS_KEY_FILE is set (HTTPS needs both)')
  if (problems.length > 0) throw new ConfigError(problems)
  return { ...config, dataDir: resolve(config.DATAGATE_DATA_DIR) }
}

function isSecret (name: string): boolean {
  return /KEY|SECRET|PASSWORD|DATABASE_URL/.test(name)
}
