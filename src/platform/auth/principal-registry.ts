import type { FastifyBaseLogger } from 'fastify'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import type { Principal } from './plugin.js'

/** One role assignment as this process saw it since its last flush. */
interface Sighting {
  issuer: string
  sub: string
  unit: string
  roles: string[]
  client: string | null
  token: string | null
  /** the token's `exp`, epoch milliseconds */
  exp: number | null
  first: number
  last: number
  uses: number
}

export interface RegistryOptions {
  /** how often what was seen is written (default 5 s) */
  flushMs?: number
  /** assignments held between flushes at most; more are counted and reported, not kept */
  maxPending?: number
}

/** Two sightings of one assignment as one: the span of both, the later token. */
function merge (older: Sighting, newer: Sighting): Sighting {
  const later = newer.last >= older.last ? newer : older
  return { ...later, first: Math.min(older.first, newer.first), last: Math.max(older.last, newer.last), uses: older.uses + newer.uses }
}

/**
 * Who holds which role (R1.2, 004 §25): every accepted token is registered on its first use, keyed
 * by issuer, subject, unit and set of roles, with the latest token id and expiry and the first and
 * last use; never the token. A request costs a Map update; every `flushMs` (and on close) one
 * upsert statement writes what was seen, so the data path never waits for a write.
 */
export function createPrincipalRegistry (db: Kysely<Database>, { flushMs = 5000, maxPending = 50_000 }: RegistryOptions = {}) {
  let pending = new Map<string, Sighting>()
  let dropped = 0
  let tail: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined

  function seen (p: Principal, issuer: string, exp: number | undefined, now = Date.now()) {
    const roles = p.roles.length > 1 ? [...p.roles].sort() : p.roles
    const key = `${issuer}\n${p.unit}\n${p.sub}\n${roles.join(',')}`
    const s = pending.get(key)
    if (s) {
      s.last = now
      s.uses++
      if (p.tokenId !== undefined && p.tokenId !== s.token) { s.token = p.tokenId; s.exp = exp === undefined ? null : exp * 1000 }
      return
    }
    if (pending.size >= maxPending) { dropped++; return }
    pending.set(key, {
      issuer,
      sub: p.sub,
      unit: p.unit,
      roles,
      client: p.client ?? null,
      token: p.tokenId ?? null,
      exp: exp === undefined ? null : exp * 1000,
      first: now,
      last: now,
      uses: 1
    })
  }

  async function write () {
    if (pending.size === 0) return
    const batch = pending
    pending = new Map()
    const rows = [...batch.values()].map((s) => ({
      issuer: s.issuer,
      sub: s.sub,
      unit: s.unit,
      roles: s.roles,
      client: s.client,
      token: s.token,
      exp: s.exp === null ? null : new Date(s.exp).toISOString(),
      first: new Date(s.first).toISOString(),
      last: new Date(s.last).toISOString(),
      uses: s.uses
    }))
    try {
      await sql`
        insert into principals as p (issuer, sub, unit_code, roles, client_id, token_id, token_expires_at, first_seen_at, last_seen_at, uses)
        select r.issuer, r.sub, r.unit, r.roles, r.client, r.token, r.exp, r.first, r.last, r.uses
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as r(issuer text, sub text, unit text, roles text[], client text, token text, exp timestamptz, first timestamptz, last timestamptz, uses bigint)
        on conflict (issuer, sub, unit_code, roles) do update set
          first_seen_at = least(p.first_seen_at, excluded.first_seen_at),
          last_seen_at = greatest(p.last_seen_at, excluded.last_seen_at),
          client_id = case when excluded.last_seen_at >= p.last_seen_at then excluded.client_id else p.client_id end,
          token_id = case when excluded.last_seen_at >= p.last_seen_at then excluded.token_id else p.token_id end,
          token_expires_at = case when excluded.last_seen_at >= p.last_seen_at then excluded.token_expires_at else p.token_expires_at end,
          uses = p.uses + excluded.uses`.execute(db)
    } catch (err) {
      // kept for the next flush, merged with what was seen meanwhile
      for (const [key, s] of batch) {
        const now = pending.get(key)
        if (now) pending.set(key, merge(s, now))
        else if (pending.size < maxPending) pending.set(key, s)
      }
      throw err
    }
  }

  /** Writes what was seen; one flush at a time. Rejects when the write failed (what it held is kept). */
  function flush (): Promise<void> {
    const next = tail.then(write)
    tail = next.catch(() => {})
    return next
  }

  return {
    seen,
    flush,
    /** assignments waiting for the next flush */
    get pending () { return pending.size },
    start (log: Pick<FastifyBaseLogger, 'warn'>) {
      timer = setInterval(() => {
        flush().catch((err: unknown) => { log.warn({ err: { message: (err as Error).message }, pending: pending.size }, 'principals: could not be written; kept for the next flush') })
        if (dropped > 0) {
          log.warn({ dropped }, 'principals: the buffer was full; these sightings were not registered')
          dropped = 0
        }
      }, flushMs).unref()
    },
    async stop () {
      clearInterval(timer)
      await flush()
    }
  }
}

export type PrincipalRegistry = ReturnType<typeof createPrincipalRegistry>
