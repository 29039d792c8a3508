import type { Kysely, Transaction } from 'kysely'
import type { BusinessSystem, Database } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { domainEvents, type DomainEventWriter } from '../../platform/domain-events.js'
import { FieldError } from '../../platform/errors.js'
import { SystemExistsError, SystemForbiddenError, SystemNotFoundError } from '../errors.js'
import { createUnitRepository } from '../units/repository.js'
import { checkFeeds, consistencyReport } from './consistency.js'
import { createSystemRepository, isNameTaken } from './repository.js'
import type { ConsistencyReport, CreateSystem, UpdateSystem } from './schemas.js'

/** The unit whose systems the caller sees, or null for every unit (the office and auditors). */
export function readScope (p: Principal): string | null {
  return p.roles.includes('security_admin') || p.roles.includes('auditor') ? null : p.unit
}

/** The unit whose systems the caller may change, or null for every unit (the office). */
function writeScope (p: Principal): string | null {
  return p.roles.includes('security_admin') ? null : p.unit
}

/** every event about a system names its unit and name */
const event: DomainEventWriter<BusinessSystem, `system.${'register' | 'update' | 'confirm' | 'remove'}`> = domainEvents({
  service: 'catalog', objectType: 'business_system', about: (row: BusinessSystem) => ({ id: row.id, details: { unit: row.unit_code, name: row.name } })
})

/**
 * The asset registry's writes (R2.9): registrations, changes, confirmations and removals, each with
 * its event in one transaction, and the consistency report read in one snapshot.
 */
export function createSystemService (db: Kysely<Database>) {
  const systems = createSystemRepository(db)
  const units = createUnitRepository(db)

  /** The system, locked, if the caller may change it: others' are 404, visible but not writable 403. */
  async function writable (trx: Transaction<Database>, id: string, principal: Principal): Promise<BusinessSystem> {
    const row = await systems.findForUpdate(id, trx)
    const read = readScope(principal)
    if (!row || (read !== null && row.unit_code !== read)) throw new SystemNotFoundError(id)
    const write = writeScope(principal)
    if (write !== null && row.unit_code !== write) throw new SystemForbiddenError(`only the office or a steward of unit ${row.unit_code} may change this system`)
    return row
  }

  return {
    /** A system registered for the caller's unit (the office: any unit, by default its own). */
    async register (input: CreateSystem, actor: Principal, requestId: string): Promise<BusinessSystem> {
      const { name, description, owner, datasets = [] } = input
      const unit = input.unit ?? actor.unit
      const scope = writeScope(actor)
      if (scope !== null && unit !== scope) throw new SystemForbiddenError(`a steward registers systems of its own unit (${scope}) only`)
      return await db.transaction().execute(async (trx) => {
        if (!await units.find(unit, trx)) throw new FieldError('unit', `no unit with code ${unit} is registered`)
        checkFeeds(unit, datasets, await systems.datasetStates(datasets, trx))
        const created = await systems.create({ unit, name, description: description ?? null, owner, datasets, actor: actor.sub }, trx)
        if (!created) throw new SystemExistsError(unit, name)
        await event(trx, { actor, requestId }, 'system.register', created, { datasets })
        return created
      })
    },

    async update (id: string, changes: UpdateSystem, actor: Principal, requestId: string): Promise<BusinessSystem> {
      return await db.transaction().execute(async (trx) => {
        const before = await writable(trx, id, actor)
        if (changes.datasets) checkFeeds(before.unit_code, changes.datasets, await systems.datasetStates(changes.datasets, trx))
        let after: BusinessSystem
        try {
          after = await systems.update(before.id, changes, trx)
        } catch (err) {
          if (isNameTaken(err)) throw new SystemExistsError(before.unit_code, changes.name ?? before.name)
          throw err
        }
        await event(trx, { actor, requestId }, 'system.update', after, {
          changed: Object.keys(changes),
          ...(changes.name !== undefined ? { previousName: before.name } : {}),
          ...(changes.datasets ? { datasets: { before: before.datasets, after: after.datasets } } : {})
        })
        return after
      })
    },

    /** The periodic review: the registration confirmed, which restarts the review period. */
    async confirm (id: string, actor: Principal, requestId: string): Promise<BusinessSystem> {
      return await db.transaction().execute(async (trx) => {
        const before = await writable(trx, id, actor)
        const after = await systems.confirm(before.id, actor.sub, trx)
        await event(trx, { actor, requestId }, 'system.confirm', after, { previouslyConfirmedAt: before.confirmed_at.toISOString() })
        return after
      })
    },

    async remove (id: string, actor: Principal, requestId: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = await writable(trx, id, actor)
        await systems.remove(row.id, trx)
        await event(trx, { actor, requestId }, 'system.remove', row, { datasets: row.datasets })
      })
    },

    /** The registry checked against the catalog for one unit (null: every unit). */
    async consistency (unit: string | null, reviewDays: number): Promise<ConsistencyReport> {
      // one snapshot, so that the lists agree with each other
      return await db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
        const all = await systems.all(unit, trx)
        const listed = await systems.datasetStates([...new Set(all.flatMap((s) => s.datasets))], trx)
        const unfed = await systems.datasetsWithoutSystem(unit, trx)
        return consistencyReport({ unit, reviewDays, now: new Date(), systems: all, listed, unfed })
      })
    }
  }
}
