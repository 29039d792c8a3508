import type { Kysely } from 'kysely'
import type { Database, Purpose } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { domainEvents } from '../../platform/domain-events.js'
import { PurposeExistsError, PurposeNotFoundError } from './errors.js'
import { createPurposeRepository } from './repository.js'
import type { CreatePurpose, UpdatePurpose } from './schemas.js'
import { toPurposeView } from './views.js'

/** A change to the list, in the caller's transaction: the audit chain records who changed what. */
const event = domainEvents({ service: 'authorization', objectType: 'purpose' })

/** The office's changes to the list of purposes: each with its event, in one transaction. */
export function createPurposeService (db: Kysely<Database>) {
  const purposes = createPurposeRepository(db)
  return {
    /** The purpose added; a 409 when its code is used, retired or not. */
    async create (input: CreatePurpose, actor: Principal, requestId: string): Promise<Purpose> {
      const { code, nameZh, nameEn, description } = input
      return await db.transaction().execute(async (trx) => {
        const p = await purposes.insert({ code, name_zh: nameZh, name_en: nameEn, description, created_by: actor.sub }, trx)
        if (!p) throw new PurposeExistsError(code)
        await event(trx, { actor, requestId }, 'purpose.create', code, { after: toPurposeView(p) })
        return p
      })
    },

    /** Names or description changed, or the purpose retired (or brought back); the purpose as it is after. */
    async update (code: string, changes: UpdatePurpose, actor: Principal, requestId: string): Promise<Purpose> {
      const { nameZh, nameEn, description, retired } = changes
      return await db.transaction().execute(async (trx) => {
        const before = await purposes.find(code, trx, { lock: true })
        if (!before) throw new PurposeNotFoundError(code)
        const retiring = retired === undefined || retired === (before.retired_at !== null) ? {} : retired ? { retired_at: new Date(), retired_by: actor.sub } : { retired_at: null, retired_by: null }
        const p = await purposes.update(code, {
          ...(nameZh !== undefined ? { name_zh: nameZh } : {}),
          ...(nameEn !== undefined ? { name_en: nameEn } : {}),
          ...(description !== undefined ? { description } : {}),
          ...retiring
        }, trx)
        const action = retired === true && before.retired_at === null ? 'purpose.retire' : 'purpose.update'
        await event(trx, { actor, requestId }, action, code, { before: toPurposeView(before), after: toPurposeView(p) })
        return p
      })
    }
  }
}
