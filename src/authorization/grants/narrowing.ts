import type { Kysely } from 'kysely'
import { createDatasetReader } from '../../catalog/index.js'
import type { Database, Grant, StoredField } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { campusToday } from '../../platform/calendar.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { GrantNotFoundError, GrantStateError, PartyForbiddenError } from '../errors.js'
import { checkRowFilter, type Condition } from '../../platform/row-filter.js'
import { canSee } from '../visibility.js'
import { createGrantRepository, effectiveStatus, type GrantNarrowing } from './repository.js'
import type { NarrowGrant } from './schemas.js'

const WIDER = 'widening a grant needs a new share request'

/** Whether `next` keeps the condition `current`: the same, or an `in` list cut to some of its values. */
function keeps (current: unknown, next: Condition): boolean {
  if (JSON.stringify(current) === JSON.stringify(next)) return true
  if (current === null || typeof current !== 'object' || !Array.isArray((current as { in?: unknown }).in)) return false
  const allowed = (current as { in: unknown[] }).in
  const values = typeof next === 'object' ? ('in' in next ? next.in : null) : [next]
  return values !== null && values.every((v) => allowed.includes(v))
}

/**
 * What a narrowing changes, checked to take away only (004 §22: least privilege kept as needs
 * shrink): fields removed, row-filter conditions added (the current ones kept, an `in` list only
 * cut), the quota lowered, the validity ended earlier but not before today. Anything wider is a 400
 * naming the property; so is a request that changes nothing.
 */
export function narrowingOf (g: Grant, input: NarrowGrant, datasetFields: readonly StoredField[], today = campusToday()): GrantNarrowing {
  const out: GrantNarrowing = {}
  if (input.fields !== undefined) {
    input.fields.forEach((name, i) => {
      if (!g.fields.includes(name)) throw new FieldError(`fields.${i}`, `the grant does not cover field ${name}: ${WIDER}`)
    })
    if (input.fields.length < g.fields.length) out.fields = g.fields.filter((f) => input.fields!.includes(f))
  }
  if (input.rowFilter !== undefined) {
    const next = checkRowFilter(input.rowFilter, datasetFields)
    for (const [name, condition] of Object.entries(g.row_filter)) {
      if (!(name in next) || !keeps(condition, next[name]!)) {
        throw new FieldError(`rowFilter.${name}`, `the grant's condition ${JSON.stringify(condition)} must stay (an "in" list may only be cut): ${WIDER}`)
      }
    }
    if (JSON.stringify(next) !== JSON.stringify(g.row_filter)) out.row_filter = next
  }
  if (input.dailyRowQuota !== undefined) {
    if (input.dailyRowQuota > g.daily_row_quota) throw new FieldError('dailyRowQuota', `may only be lowered (now ${g.daily_row_quota}): ${WIDER}`)
    if (input.dailyRowQuota < g.daily_row_quota) out.daily_row_quota = input.dailyRowQuota
  }
  if (input.validUntil !== undefined) {
    if (input.validUntil > g.valid_until) throw new FieldError('validUntil', `may only end earlier (now ${g.valid_until}): ${WIDER}`)
    if (input.validUntil < today) throw new FieldError('validUntil', `must not be before today (${today})`)
    if (input.validUntil < g.valid_from) throw new FieldError('validUntil', `must not be before the grant's validFrom (${g.valid_from})`)
    if (input.validUntil < g.valid_until) out.valid_until = input.validUntil
  }
  if (Object.keys(out).length === 0) {
    const named = (['fields', 'rowFilter', 'dailyRowQuota', 'validUntil'] as const).find((k) => input[k] !== undefined) ?? 'fields'
    throw new FieldError(named, 'narrows nothing: give fewer fields, more row-filter conditions, a lower quota or an earlier end')
  }
  return out
}

/** The grant's narrowable terms, as the API names them, of the properties a narrowing changed. */
function termsOf (g: Grant, changed: GrantNarrowing) {
  return {
    ...(changed.fields !== undefined ? { fields: g.fields } : {}),
    ...(changed.row_filter !== undefined ? { rowFilter: g.row_filter } : {}),
    ...(changed.daily_row_quota !== undefined ? { dailyRowQuota: g.daily_row_quota } : {}),
    ...(changed.valid_until !== undefined ? { validUntil: g.valid_until } : {})
  }
}

/**
 * The office, or a steward of the producer unit, narrows an active or suspended grant. The update
 * moves the grants version every gateway polls, and the domain event drops this process's cache at
 * once, so the next read anywhere uses the narrower terms within a second.
 */
export async function narrowGrant (db: Kysely<Database>, id: string, input: NarrowGrant, actor: Principal, requestId: string): Promise<Grant> {
  const grants = createGrantRepository(db)
  return await db.transaction().execute(async (trx) => {
    const before = await grants.find(id, trx, { lock: true })
    if (!before || !canSee(actor, before)) throw new GrantNotFoundError(id)
    const office = actor.roles.includes('security_admin')
    const producer = actor.roles.includes('steward') && actor.unit === before.producer_unit
    if (!office && !producer) throw new PartyForbiddenError(`only the office or a steward of the producer unit ${before.producer_unit} narrows this grant`)
    const status = effectiveStatus(before)
    if (status !== 'active' && status !== 'suspended') throw new GrantStateError(`the grant is ${status}: only an active or suspended grant is narrowed`)
    const dataset = await createDatasetReader(db).find(before.dataset_code, trx)
    const changes = narrowingOf(before, input, dataset?.fields ?? [])
    const after = await grants.narrow(id, changes, trx)
    await recordEvent(trx, {
      service: 'authorization',
      action: 'grant.narrow',
      actor,
      objectType: 'grant',
      objectId: id,
      dataset: before.dataset_code,
      requestId,
      details: { reason: input.reason, consumerUnit: before.consumer_unit, before: termsOf(before, changes), after: termsOf(after, changes) }
    })
    return after
  })
}
