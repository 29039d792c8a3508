import { BlockList, isIP } from 'node:net'
import createError from '@fastify/error'
import type { Kysely } from 'kysely'
import type { BlacklistEntry, Database } from '../../db/database.js'
import { parseAddressRange } from '../../platform/auth/blocklist.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { recordEvent } from '../../platform/events.js'
import { addBlacklistEntry, createBlacklistRepository, entryDetails, statusOf, type NewBlacklistEntry } from './repository.js'

export const BlacklistEntryNotFoundError = createError<[string]>('AUDIT_BLACKLIST_ENTRY_NOT_FOUND', 'no blacklist entry with id %s', 404)
export const BlacklistEntryStateError = createError<[string]>('AUDIT_BLACKLIST_ENTRY_STATE', '%s', 409)

/** Who is asking, from where: an entry that would lock the asker out is refused. */
export interface Asker { principal: Principal, ip: string, requestId: string }

/** Refuses an entry that would block the person making it: nobody could lift a self-inflicted block from there. */
function refuseSelfBlock (input: Pick<NewBlacklistEntry, 'kind' | 'value' | 'unit'>, asker: Asker) {
  const p = asker.principal
  if (input.kind === 'principal' && input.value.trim() === p.sub && (input.unit == null || input.unit === p.unit)) {
    throw new FieldError('value', 'would block your own token subject')
  }
  if (input.kind === 'client' && p.client !== undefined && input.value.trim() === p.client) {
    throw new FieldError('value', 'would block your own service client')
  }
  const range = input.kind === 'ip' ? parseAddressRange(input.value) : null
  const version = isIP(asker.ip)
  if (range && version !== 0) {
    const list = new BlockList()
    list.addSubnet(range.address, range.prefix, range.family)
    if (list.check(asker.ip, version === 4 ? 'ipv4' : 'ipv6')) throw new FieldError('value', `would block your own address ${asker.ip}`)
  }
}

/** Adding and lifting entries through the API; each commits with its domain event, then this process reloads at once. */
export function createBlacklistService (db: Kysely<Database>, reload: () => Promise<void>) {
  const entries = createBlacklistRepository(db)
  return {
    async add (input: Omit<NewBlacklistEntry, 'actor' | 'alertId' | 'requestId'>, asker: Asker): Promise<BlacklistEntry> {
      refuseSelfBlock(input, asker)
      const entry = await db.transaction().execute(async (trx) =>
        await addBlacklistEntry(trx, { ...input, actor: asker.principal, requestId: asker.requestId }))
      await reload()
      return entry
    },

    async get (id: string): Promise<BlacklistEntry> {
      const entry = await entries.find(id)
      if (!entry) throw new BlacklistEntryNotFoundError(id)
      return entry
    },

    /** Ends a live entry early; the entry stays, with who lifted it, when and why. */
    async lift (id: string, reason: string, asker: Asker): Promise<BlacklistEntry> {
      const lifted = await db.transaction().execute(async (trx) => {
        const before = await entries.find(id, trx, { lock: true })
        if (!before) throw new BlacklistEntryNotFoundError(id)
        const status = statusOf(before)
        if (status !== 'active') throw new BlacklistEntryStateError(`the entry is already ${status}`)
        const after = await entries.lift(id, asker.principal.sub, reason, trx)
        await recordEvent(trx, {
          service: 'audit',
          action: 'blacklist_entry.lift',
          actor: asker.principal,
          objectType: 'blacklist_entry',
          objectId: id,
          requestId: asker.requestId,
          details: { reason, before: entryDetails(before), after: entryDetails(after) }
        })
        return after
      })
      await reload()
      return lifted
    }
  }
}
