import type { Kysely } from 'kysely'
import type { Database, Grant } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { GrantNotFoundError, GrantNotUsableError, NoGrantError } from '../errors.js'
import { campusToday } from '../../platform/calendar.js'
import { effectiveStatus } from './repository.js'
import type { AccessMode } from './table.js'

export type { AccessMode }

/** Whether the grant is the caller's: its consumer unit, and its one subject where it names one. */
const holds = (principal: Principal, g: Grant) => g.consumer_unit === principal.unit && (g.subject === null || g.subject === principal.sub)

/** Why a grant the caller holds cannot be used today in this mode, or null when it can. */
export function unusableBecause (g: Grant, mode: AccessMode, today = campusToday()): string | null {
  const status = effectiveStatus(g, today)
  if (status === 'revoked') return `grant ${g.id} was revoked${g.status_reason ? `: ${g.status_reason}` : ''}`
  if (status === 'suspended') return `grant ${g.id} is suspended${g.status_reason ? `: ${g.status_reason}` : ''}`
  if (status === 'expired') return `grant ${g.id} expired on ${g.valid_until}`
  if (g.valid_from > today) return `grant ${g.id} is valid from ${g.valid_from}`
  if (!g.access_modes.includes(mode)) return `grant ${g.id} does not allow access mode ${mode}`
  return null
}

/** The grants of a unit on a dataset that resolution chooses from, newest first. */
export async function heldGrants (db: Kysely<Database>, unit: string, dataset: string): Promise<Grant[]> {
  return await db.selectFrom('grants').selectAll()
    .where('dataset_code', '=', dataset).where('consumer_unit', '=', unit)
    .orderBy('seq', 'desc').limit(500).execute()
}

/**
 * The grant under which a caller takes data of a dataset now, chosen from its unit's grants on the
 * dataset (`unitGrants`, newest first): the one it names, or the only one it holds that is usable
 * in this mode. Everything not granted is refused (deny unless granted); a named grant of another
 * unit, subject or dataset is 404.
 */
export function chooseGrant (principal: Principal, dataset: string, mode: AccessMode, unitGrants: readonly Grant[], grantId?: string, today = campusToday()): Grant {
  if (grantId !== undefined) {
    const g = unitGrants.find((x) => x.id === grantId)
    if (!g || !holds(principal, g) || g.dataset_code !== dataset) throw new GrantNotFoundError(grantId)
    const why = unusableBecause(g, mode, today)
    if (why) throw new GrantNotUsableError(why)
    return g
  }
  const held = unitGrants.filter((g) => holds(principal, g) && g.dataset_code === dataset)
  const usable = held.filter((g) => unusableBecause(g, mode, today) === null)
  if (usable.length === 1) return usable[0]!
  if (usable.length > 1) throw new FieldError('grant', `several grants apply (${usable.map((g) => g.id).join(', ')}): name one`)
  if (held.length > 0) throw new GrantNotUsableError(unusableBecause(held[0]!, mode, today)!)
  throw new NoGrantError(`no grant on dataset ${dataset} for your unit: file a share request`)
}

/** chooseGrant over the unit's grants as they are in the database now. */
export async function resolveGrant (db: Kysely<Database>, principal: Principal, dataset: string, mode: AccessMode, grantId?: string): Promise<Grant> {
  return chooseGrant(principal, dataset, mode, await heldGrants(db, principal.unit, dataset), grantId)
}
