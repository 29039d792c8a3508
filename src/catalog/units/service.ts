import type { Kysely } from 'kysely'
import type { Database, Unit } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { domainEvents } from '../../platform/domain-events.js'
import { UnitExistsError, UnitNotFoundError } from '../errors.js'
import { createUnitRepository } from './repository.js'
import type { CreateUnit, UpdateUnit } from './schemas.js'

const event = domainEvents({ service: 'catalog', objectType: 'unit' })

/** Units as `system_admin` registers and edits them: each change with its event, in one transaction. */
export function createUnitService (db: Kysely<Database>) {
  const units = createUnitRepository(db)
  return {
    /** The unit registered; a 409 when its code is taken. */
    async create (input: CreateUnit, actor: Principal, requestId: string): Promise<Unit> {
      return await db.transaction().execute(async (trx) => {
        const created = await units.create(input, trx)
        if (!created) throw new UnitExistsError(input.code)
        await event(trx, { actor, requestId }, 'unit.create', created.code, { name: created.name, description: created.description })
        return created
      })
    },

    /** The unit as it is after the changes; a 404 when there is no such unit. */
    async update (code: string, changes: UpdateUnit, actor: Principal, requestId: string): Promise<Unit> {
      return await db.transaction().execute(async (trx) => {
        const before = await units.find(code, trx)
        const after = before ? await units.update(code, changes, trx) : null
        if (!before || !after) throw new UnitNotFoundError(code)
        // the officer's name and contact are personal data: the event says that they changed, not to what
        await event(trx, { actor, requestId }, 'unit.update', after.code, {
          changed: Object.keys(changes),
          before: { name: before.name, description: before.description },
          after: { name: after.name, description: after.description }
        })
        return after
      })
    }
  }
}
