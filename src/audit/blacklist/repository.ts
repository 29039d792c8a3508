import { sql, type Kysely, type Transaction } from 'kysely'
import type { BlacklistEntry, BlacklistKind, Database } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { parseAddressRange, type BlockEntry } from '../../platform/auth/blocklist.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'

type Db = Kysely<Database> | Transaction<Database>

export const BLACKLIST_STATUSES = ['active', 'expired', 'lifted'] as const
export type BlacklistStatus = typeof BLACKLIST_STATUSES[number]

export interface NewBlacklistEntry {
  kind: BlacklistKind
  /** a token subject, a service client id, or an IPv4/IPv6 address or CIDR range */
  value: string
  /** principal only: block the subject's tokens of this unit only */
  unit?: string | null
  reason: string
  /** null or absent: until lifted */
  expiresAt?: Date | string | null
  /** who blocks: a person, or `system:…` for automatic blocks */
  actor: Principal
  /** the alert that caused an automatic block */
  alertId?: number | null
  requestId?: string | null
}

/** The status of an entry at `now`: lifted wins over expired. */
export function statusOf (e: Pick<BlacklistEntry, 'lifted_at' | 'expires_at'>, now = Date.now()): BlacklistStatus {
  if (e.lifted_at !== null) return 'lifted'
  return e.expires_at !== null && e.expires_at.getTime() <= now ? 'expired' : 'active'
}

/** What an event keeps of an entry (before/after). */
export function entryDetails (e: BlacklistEntry) {
  return {
    kind: e.kind,
    value: e.value,
    unit: e.unit,
    reason: e.reason,
    expiresAt: e.expires_at?.toISOString() ?? null,
    alertId: e.alert_id,
    status: statusOf(e)
  }
}

/** Checks and normalises an entry: a 400 naming the field for anything a schema cannot say. */
export function normaliseEntry (input: Pick<NewBlacklistEntry, 'kind' | 'value' | 'unit' | 'expiresAt'>, now = Date.now()) {
  let value = input.value.trim()
  if (value === '') throw new FieldError('value', 'must not be blank')
  if (input.kind === 'ip') {
    const range = parseAddressRange(value)
    if (!range) throw new FieldError('value', 'must be an IPv4 or IPv6 address or CIDR range, such as 10.8.0.0/16 or 2001:db8::/32')
    value = range.canonical
  }
  if (input.unit != null && input.kind !== 'principal') throw new FieldError('unit', 'applies to kind principal only')
  const expiresAt = input.expiresAt == null ? null : new Date(input.expiresAt)
  if (expiresAt !== null && !(expiresAt.getTime() > now)) throw new FieldError('expiresAt', 'must be in the future')
  return { value, unit: input.unit ?? null, expiresAt }
}

/**
 * Adds an entry within the caller's transaction, with its domain event (who, why, the entry), so
 * that a change elsewhere (offboarding) and its block commit or roll back together. Every process
 * enforces it within a second of the commit. Throws a FieldError for a bad value, unit or expiry.
 */
export async function addBlacklistEntry (trx: Transaction<Database>, input: NewBlacklistEntry): Promise<BlacklistEntry> {
  const { value, unit, expiresAt } = normaliseEntry(input)
  const entry = await trx.insertInto('audit_blacklist').values({
    kind: input.kind,
    value,
    unit,
    reason: input.reason,
    expires_at: expiresAt,
    alert_id: input.alertId ?? null,
    created_by: input.actor.sub
  }).returningAll().executeTakeFirstOrThrow()
  await recordEvent(trx, {
    service: 'audit',
    action: 'blacklist_entry.create',
    actor: input.actor,
    objectType: 'blacklist_entry',
    objectId: entry.id,
    requestId: input.requestId ?? null,
    details: { before: null, after: entryDetails(entry) }
  })
  return entry
}

export interface BlacklistFilter {
  status?: BlacklistStatus
  kind?: BlacklistKind
  value?: string
  beforeSeq?: string
  limit: number
}

const liveNow = sql<boolean>`lifted_at is null and (expires_at is null or expires_at > now())`

export function createBlacklistRepository (db: Kysely<Database>) {
  return {
    async find (id: string, trx: Db = db, { lock = false } = {}): Promise<BlacklistEntry | undefined> {
      let q = trx.selectFrom('audit_blacklist').selectAll().where('id', '=', id)
      if (lock) q = q.forUpdate()
      return await q.executeTakeFirst()
    },

    /** Newest first. */
    async list (filter: BlacklistFilter): Promise<BlacklistEntry[]> {
      let q = db.selectFrom('audit_blacklist').selectAll()
      if (filter.status === 'active') q = q.where(liveNow)
      if (filter.status === 'expired') q = q.where(sql<boolean>`lifted_at is null and expires_at <= now()`)
      if (filter.status === 'lifted') q = q.where('lifted_at', 'is not', null)
      if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind)
      if (filter.value !== undefined) q = q.where('value', '=', filter.value)
      if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq)
      return await q.orderBy('seq', 'desc').limit(filter.limit).execute()
    },

    /** Every live entry, as the processes' snapshots hold them. */
    async live (): Promise<BlockEntry[]> {
      const rows = await db.selectFrom('audit_blacklist').select(['id', 'kind', 'value', 'unit', 'expires_at']).where(liveNow).execute()
      return rows.map((r) => ({ id: r.id, kind: r.kind, value: r.value, unit: r.unit, expiresAt: r.expires_at?.getTime() ?? null }))
    },

    /** A live entry for exactly this target, if any (automatic blocks do not pile up). */
    async liveFor (target: { kind: BlacklistKind, value: string, unit: string | null }, trx: Db = db): Promise<BlacklistEntry | undefined> {
      return await trx.selectFrom('audit_blacklist').selectAll()
        .where('kind', '=', target.kind).where('value', '=', target.value)
        .where((eb) => target.unit === null ? eb('unit', 'is', null) : eb('unit', '=', target.unit))
        .where(liveNow).executeTakeFirst()
    },

    async lift (id: string, by: string, reason: string, trx: Db): Promise<BlacklistEntry> {
      return await trx.updateTable('audit_blacklist').set({ lifted_at: sql`now()`, lifted_by: by, lift_reason: reason })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    }
  }
}

export type BlacklistRepository = ReturnType<typeof createBlacklistRepository>

/** The loader of the processes' snapshots (app.ts hands it to the blocklist plugin). */
export async function liveBlacklist (db: Kysely<Database>): Promise<BlockEntry[]> {
  return await createBlacklistRepository(db).live()
}
