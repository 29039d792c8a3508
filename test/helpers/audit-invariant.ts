// "No data without audit", checked on every test app that test/helpers/build.ts builds: every
// data-bearing response and every audited refusal of the data path is recorded as it leaves, and
// when the app closes each one's X-Audit-Event is looked up in the audit log.
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../src/db/database.js'

/** What the audit event of a data-bearing response must say. */
const DATA_ROUTES: { method: string, path: RegExp, operation: string }[] = [
  { method: 'GET', path: /^\/api\/v1\/data\/[^/]+\/records$/, operation: 'data.records.read' },
  { method: 'GET', path: /^\/api\/v1\/data\/[^/]+\/schema$/, operation: 'data.schema.read' },
  { method: 'POST', path: /^\/api\/v1\/data\/[^/]+\/exports$/, operation: 'data.export.create' },
  { method: 'GET', path: /^\/api\/v1\/exports\/[^/]+\/file$/, operation: 'data.export.download' },
  { method: 'GET', path: /^\/open\/v1\/datasets\/[^/]+\/records$/, operation: 'open.records.read' }
]

export interface AuditedResponse {
  method: string
  /** the path, without the query */
  path: string
  status: number
  requestId: string
  /** the X-Audit-Event header, or null */
  seq: string | null
  /** the operation its event must name (2xx) */
  operation: string
}

interface EventRow { seq: string, operation: string, outcome: string, request_id: string | null, details: unknown }

/** The data route a request hit, or undefined when it is none. */
export function dataRouteOf (method: string, path: string) {
  return DATA_ROUTES.find((r) => r.method === method && r.path.test(path))
}

/**
 * What the log must hold for each response. A 2xx of a data route must carry X-Audit-Event and its
 * event must be that operation, a success, of that request. A refusal (4xx, 5xx) of the
 * authenticated data path must carry it too (the path audits every refusal), except a 5xx, which
 * may be the audit log itself failing; open-data refusals are audited at most 60 a minute per
 * address, so they may lack it. Whenever a refusal carries it, its event must be a denial (4xx) or
 * a failure (5xx) of that request, with that status.
 */
export function violationsOf (responses: readonly AuditedResponse[], events: ReadonlyMap<string, EventRow>): string[] {
  const problems: string[] = []
  const seen = new Map<string, AuditedResponse>()
  for (const r of responses) {
    const what = `${r.method} ${r.path} → ${r.status} (request ${r.requestId})`
    const ok = r.status >= 200 && r.status < 300
    if (r.seq === null) {
      const mustCarry = ok || (r.status < 500 && r.path.startsWith('/api/v1/'))
      if (mustCarry) problems.push(`${what} carries no X-Audit-Event: ${ok ? 'data left without an audit event' : 'a refusal of the data path was not audited'}`)
      continue
    }
    const twice = seen.get(r.seq)
    if (twice) problems.push(`${what} names audit event ${r.seq}, which ${twice.method} ${twice.path} (request ${twice.requestId}) named already`)
    seen.set(r.seq, r)
    const event = events.get(r.seq)
    if (!event) {
      problems.push(`${what} names audit event ${r.seq}, which is not in the audit log`)
      continue
    }
    if (event.request_id !== null && event.request_id !== r.requestId) {
      problems.push(`${what} names audit event ${r.seq}, which records request ${event.request_id}`)
    }
    if (ok) {
      if (event.operation !== r.operation || event.outcome !== 'success') {
        problems.push(`${what} names audit event ${r.seq}, which records ${event.operation}/${event.outcome}, not ${r.operation}/success`)
      }
    } else {
      const outcome = r.status >= 500 ? 'failure' : 'denied'
      const status = (event.details as { status?: unknown } | null)?.status
      if (event.outcome !== outcome || status !== r.status) {
        problems.push(`${what} names audit event ${r.seq}, which records ${event.operation}/${event.outcome} with status ${String(status)}, not a ${outcome} with status ${r.status}`)
      }
    }
  }
  return problems
}

/** The audit events of these sequence numbers, by seq. */
export async function eventsOf (db: Kysely<Database>, seqs: readonly string[]): Promise<Map<string, EventRow>> {
  const found = new Map<string, EventRow>()
  const unique = [...new Set(seqs)].filter((s) => /^[0-9]+$/.test(s))
  for (let i = 0; i < unique.length; i += 1000) {
    const rows = await db.selectFrom('audit_events').select(['seq', 'operation', 'outcome', 'request_id', 'details'])
      .where('seq', 'in', unique.slice(i, i + 1000)).execute()
    for (const row of rows) found.set(String(row.seq), row)
  }
  return found
}

export interface AuditWatch {
  /** the responses of data routes so far */
  readonly responses: AuditedResponse[]
  /** looks every recorded response up in the log: the violations, empty when the invariant holds */
  check (db: Kysely<Database>): Promise<string[]>
  /** checks now, and remembers the result for `assert` (build.ts calls it as the app closes) */
  checkAndKeep (db: Kysely<Database>): Promise<void>
  /** throws, naming every violation found by the last check */
  assert (): void
  /** forgets the responses and the violations so far (a test that breaks the invariant on purpose) */
  reset (): void
}

/** Records the responses of the data routes of `app` (an onResponse hook: call it before the app is ready). */
export function watchAuditInvariant (app: FastifyInstance): AuditWatch {
  const responses: AuditedResponse[] = []
  let violations: string[] = []
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?')[0]!
    const route = dataRouteOf(request.method, path)
    if (!route) return
    const header = reply.getHeader('x-audit-event')
    responses.push({
      method: request.method,
      path,
      status: reply.statusCode,
      requestId: String(request.id),
      seq: header === undefined ? null : String(header),
      operation: route.operation
    })
  })
  const watch: AuditWatch = {
    responses,
    async check (db) {
      if (responses.length === 0) return []
      let events: Map<string, EventRow>
      try {
        events = await eventsOf(db, responses.flatMap((r) => r.seq === null ? [] : [r.seq]))
      } catch (err) {
        return [`the audit log could not be read to check ${responses.length} data responses: ${(err as Error).message}`]
      }
      return violationsOf(responses, events)
    },
    async checkAndKeep (db) {
      violations = await watch.check(db)
    },
    assert () {
      if (violations.length === 0) return
      const list = violations.slice(0, 20).map((v) => `  - ${v}`).join('\n')
      const more = violations.length > 20 ? `\n  … and ${violations.length - 20} more` : ''
      throw new Error(`"No data without audit" is violated (${violations.length}):\n${list}${more}`)
    },
    reset () {
      responses.length = 0
      violations = []
    }
  }
  return watch
}
