import type { Kysely } from 'kysely'
import type { Database, Grant } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { GrantNotFoundError, GrantNotUsableError, NoGrantError } from '../errors.js'
import { campusToday } from '../../platform/calendar.js'
import { effectiveStatus } from './repository.js'

export type AccessMode = 'api' | 'export'

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

/**
 * The grant under which a caller takes data of a dataset now: the one it names, or the only one it
 * holds that is usable in this mode. This is what the data path asks the authorization service on
 * every read and export; everything not granted is refused (deny unless granted).
 */
export async function resolveGrant (db: Kysely<Database>, principal: Principal, dataset: string, mode: AccessMode, grantId?: string): Promise<Grant> {
  if (grantId !== undefined) {
    const g = await db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirst()
    if (!g || !holds(principal, g) || g.dataset_code !== dataset) throw new GrantNotFoundError(grantId)
    const why = unusableBecause(g, mode)
    if (why) throw new GrantNotUsableError(why)
    return g
  }
  const held = (await db.selectFrom('grants').selectAll()
    .where('dataset_code', '=', dataset).where('consumer_unit', '=', principal.unit)
    .orderBy('seq', 'desc').limit(100).execute())
    .filter((g) => holds(principal, g))
  const usable = held.filter((g) => unusableBecause(g, mode) === null)
  if (usable.length === 1) return usable[0]!
  if (usable.length > 1) throw new FieldError('grant', `several grants apply (${usable.map((g) => g.id).join(', ')}): name one`)
  if (held.length > 0) throw new GrantNotUsableError(unusableBecause(held[0]!, mode)!)
  throw new NoGrantError(`no grant on dataset ${dataset} for your unit: file a share request`)
}
