import type { Kysely } from 'kysely'
import type { Database, ServiceClient } from '../../db/database.js'
import { FieldError } from '../errors.js'
import type { ServiceClientView } from './schemas.js'

export function toClientView (row: ServiceClient): ServiceClientView {
  return {
    clientId: row.client_id,
    name: row.name,
    unit: row.unit_code,
    roles: row.roles as ServiceClientView['roles'],
    status: row.disabled_at ? 'disabled' : 'active',
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at ? row.last_used_at.toISOString() : null
  }
}

export function createClientRepository (db: Kysely<Database>) {
  return {
    /** Inserts the client; a unit that does not exist is the caller's 400. */
    async create (values: { clientId: string, name: string, unit: string, roles: string[], secretHash: string, createdBy: string }) {
      return await db.insertInto('service_clients').values({
        client_id: values.clientId,
        name: values.name,
        unit_code: values.unit,
        roles: values.roles,
        secret_hash: values.secretHash,
        created_by: values.createdBy
      }).returningAll().executeTakeFirstOrThrow().catch((err: { code?: string }) => {
        if (err.code === '23503') throw new FieldError('unit', `no unit with code ${values.unit}`)
        throw err
      })
    },

    async find (clientId: string): Promise<ServiceClient | null> {
      return await db.selectFrom('service_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst() ?? null
    },

    async list ({ limit, after }: { limit: number, after?: string }): Promise<ServiceClient[]> {
      let query = db.selectFrom('service_clients').selectAll().orderBy('client_id').limit(limit)
      if (after !== undefined) query = query.where('client_id', '>', after)
      return await query.execute()
    },

    async disable (clientId: string): Promise<ServiceClient | null> {
      return await db.updateTable('service_clients')
        .set({ disabled_at: new Date() })
        .where('client_id', '=', clientId)
        .where('disabled_at', 'is', null)
        .returningAll()
        .executeTakeFirst() ?? await this.find(clientId)
    },

    async touch (clientId: string): Promise<void> {
      await db.updateTable('service_clients').set({ last_used_at: new Date() }).where('client_id', '=', clientId).execute()
    }
  }
}
