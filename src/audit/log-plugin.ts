import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { loadSigningKey, loadVerificationKey, type VerificationKey } from '../platform/auth/keys.js'
import { onDomainEvent } from '../platform/events.js'
import { alertSettingsOf, createAlertRepository, type AlertRepository } from './alerts/engine.js'
import { createDenialLimiter } from './denials.js'
import type { AppendResult, AuditEventInput } from './events.js'
import { createTraceMerge } from './persons/merge.js'
import { createPersonAccessRepository } from './persons/repository.js'
import { createAuditRepository, type AuditRepository } from './repository.js'
import { purgeExpired, type PurgeResult } from './retention.js'
import { verifyChain, type Verification } from './verify.js'
import { createAuditWriter } from './writer.js'

/** What every service calls: the audit log of this process. */
export interface AuditLog {
  /** records an event; resolves once it is committed (never call inside a transaction: use recordEvent there) */
  append (event: AuditEventInput): Promise<AppendResult>
  /** the caller of a request, its address and request id, filled in */
  appendFor (request: FastifyRequest, event: Omit<AuditEventInput, 'actor'>): Promise<AppendResult>
  /** seals what is queued and relays committed domain events */
  flush (): Promise<void>
  checkpoint (options?: { force?: boolean }): Promise<string | null>
  verify (range?: { from?: number, to?: number }): Promise<Verification>
  purge (now?: Date): Promise<PurgeResult>
  repository: AuditRepository
  alerts: AlertRepository
  /** runs the alert rules now (they also run every ALERT_EVERY_MS) */
  evaluateAlerts (): Promise<number>
  verificationKey: VerificationKey
}

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditLog
  }
  interface FastifyContextConfig {
    /** the route records every outcome itself, refusals included (the data path) */
    auditsItself?: boolean
  }
}

const logs = new WeakMap<object, AuditLog>()

/**
 * The audit log running over a database handle, for code outside the /api/v1 scope that the
 * `audit` decorator reaches (tests, the CLI). Undefined when the audit service is not served.
 */
export function auditLogOf (db: object): AuditLog | undefined {
  return logs.get(db)
}

const TICK_MS = 1000
const PURGE_EVERY_MS = 3_600_000
const ALERT_EVERY_MS = 10_000
/** domain events of other processes (distributed mode) reach the chain at least this often */
const SWEEP_MS = 60_000

/**
 * The audit log of the process (group-commit writer, domain-event relay, checkpoints, retention),
 * and the hook that records every 401 and 403 of /api/v1 before the refusal leaves.
 */
async function auditLog (app: FastifyInstance) {
  const { config } = app
  const signingKey = loadSigningKey(config, { generate: false })
  const verificationKey = loadVerificationKey(config, signingKey)
  const repository = createAuditRepository(app.db)
  // thresholds from config; a denials alert blacklists its caller, and this process enforces it at once
  const alerts = createAlertRepository(app.db, { ...alertSettingsOf(config), onBlocked: () => { app.blocklist.refresh().catch(() => {}) } })
  const writer = createAuditWriter({
    db: app.db,
    hash: config.AUDIT_HASH,
    signingKey,
    checkpointEvents: config.AUDIT_CHECKPOINT_EVENTS,
    checkpointSeconds: config.AUDIT_CHECKPOINT_SECONDS,
    pipeline: app.database.kind === 'postgres' ? 4 : 1, // as measured in bench/audit.ts
    onError: (err, what) => { app.log.error({ err }, `audit: ${what} failed`) }
  })

  const traceMerge = createTraceMerge(async () => await createPersonAccessRepository(app.db).mergePending())
  const append = async (event: AuditEventInput) => {
    traceMerge.traced(event.persons?.length ?? 0)
    return await writer.append(event)
  }
  const log: AuditLog = {
    append,
    appendFor: async (request, event) => await append({
      ...event,
      actor: actorOf(request),
      requestId: event.requestId ?? request.id
    }),
    flush: writer.flush,
    checkpoint: async (options) => await writer.checkpoint({ ...options, reason: options?.force ? 'manual' : 'interval' }),
    verify: async (range) => await verifyChain(repository, verificationKey, range),
    purge: async (now) => await purgeExpired({
      db: app.db, repo: repository, writer, signingKey, verificationKey, retentionDays: config.AUDIT_RETENTION_DAYS, ...(now ? { now } : {})
    }),
    repository,
    alerts,
    evaluateAlerts: async () => { await writer.flush(); return await alerts.evaluate() },
    verificationKey
  }
  app.decorate('audit', log)
  logs.set(app.db, log)
  // this month's and next month's partitions before the first append (and hourly below): events
  // never wait for a month to exist, and DEFAULT stays empty
  await repository.ensurePartitions()

  // Background work touches the database only when there is work: the relay when this process
  // recorded a domain event (and every SWEEP_MS for other processes' events), the interval
  // checkpoint and the alert rules when this process appended, the merge of the person trace's
  // index when this process traced persons, partitions and the purge hourly.
  let ticking: Promise<unknown> | null = null
  let relayDue = false
  let appendedSinceCheckpoint = false
  let appendedSinceAlerts = false
  let lastSweep = Date.now()
  let lastAlerts = 0
  let lastCheckpointTry = 0
  const checkpointTryMs = Math.min(5000, config.AUDIT_CHECKPOINT_SECONDS * 1000)
  let lastPurge = Date.now() - PURGE_EVERY_MS + 60_000 // the first purge a minute after start
  const stopListening = onDomainEvent(() => { relayDue = true })
  // beside the rest, which a long merge under a stream of reads must not hold up
  let merging: Promise<unknown> | null = null
  const mergeTraceIndex = () => {
    merging ??= traceMerge.mergeIfDue()
      .catch((err: unknown) => { app.log.warn({ err }, 'audit: merging the person trace\'s index failed; the next merge goes on') })
      .finally(() => { merging = null })
  }
  const tick = () => {
    mergeTraceIndex()
    if (ticking) return
    ticking = (async () => {
      const now = Date.now()
      if (relayDue || now - lastSweep >= SWEEP_MS) {
        relayDue = false
        lastSweep = now
        await writer.flush()
      }
      if (appendedSinceCheckpoint && now - lastCheckpointTry >= checkpointTryMs) {
        lastCheckpointTry = now
        if (await writer.checkpoint() !== null) appendedSinceCheckpoint = false
      }
      if (appendedSinceAlerts && now - lastAlerts >= ALERT_EVERY_MS) {
        appendedSinceAlerts = false
        lastAlerts = now
        await alerts.evaluate()
      }
      if (now - lastPurge >= PURGE_EVERY_MS) {
        lastPurge = now
        await repository.ensurePartitions()
        await log.purge()
      }
    })().catch((err: unknown) => { app.log.error({ err }, 'audit: background work failed') })
      .finally(() => { ticking = null })
  }
  writer.onAppended(() => { appendedSinceCheckpoint = true; appendedSinceAlerts = true })
  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    timer = setInterval(tick, TICK_MS).unref()
  })
  // onClose of the db plugin runs before ours: finish while the database is still open
  app.addHook('preClose', async () => {
    clearInterval(timer)
    stopListening()
    await ticking
    await merging
    await writer.flush().catch(() => {})
  })

  const denials = createDenialLimiter()
  app.addHook('onSend', async (request, reply, payload) => {
    const status = reply.statusCode
    if ((status !== 401 && status !== 403) || !request.url.startsWith('/api/v1/') || request.routeOptions.config.auditsItself) return payload
    const actor = actorOf(request)
    const suppressed = denials.admit(request.principal ? `${actor.unit ?? ''}/${actor.sub}` : `ip:${request.ip}`)
    if (suppressed === null) return payload
    const route = request.routeOptions.url ?? request.url.split('?')[0]
    const problem = problemOf(payload)
    try {
      // the refusal leaves only once it is recorded; a log that cannot be written does not turn it into a 503
      await writer.append({
        service: 'platform',
        action: 'denied',
        operation: `${request.method} ${route}`,
        outcome: 'denied',
        actor,
        requestId: request.id,
        details: { status, method: request.method, route, ...problem, ...(suppressed > 0 ? { suppressedBefore: suppressed } : {}) }
      })
    } catch (err) {
      request.log.error({ err }, 'audit: a denial could not be recorded')
    }
    return payload
  })
}

/**
 * The code and detail of a refusal's problem document (what the caller was told, e.g. which part of
 * a destruction the caller already holds), so that the audited denial says why.
 */
function problemOf (payload: unknown): { code?: string, detail?: string } {
  if (typeof payload !== 'string' || !payload.startsWith('{')) return {}
  try {
    const { code, detail } = JSON.parse(payload) as { code?: unknown, detail?: unknown }
    return {
      ...(typeof code === 'string' ? { code: code.slice(0, 100) } : {}),
      ...(typeof detail === 'string' ? { detail: detail.slice(0, 300) } : {})
    }
  } catch {
    return {}
  }
}

/** Who made a request; never the token itself. */
function actorOf (request: FastifyRequest) {
  const p = request.principal
  return p
    ? { sub: p.sub, unit: p.unit, roles: p.roles, client: p.client ?? null, ip: request.ip }
    : { sub: 'anonymous', unit: null, roles: [], client: null, ip: request.ip }
}

export default fp(auditLog, { name: 'audit-log', dependencies: ['db'], fastify: '5.x' })
