import { sql, type Kysely, type Transaction } from 'kysely'
import type { ClientRole, Database, ServiceClient } from '../../db/database.js'
import { FieldError } from '../errors.js'
import type { Agreement, ServiceClientView } from './schemas.js'
import type { ClientKindValues } from './vendor-agreement.js'

type Db = Kysely<Database> | Transaction<Database>

/** The agreement on record, as the API and the event log show it (never a secret). */
export function agreementOf (row: ServiceClient): Agreement | null {
  if (row.kind !== 'vendor' || !row.agreement_signed_at || !row.agreement_expires_at) return null
  return {
    reference: row.agreement_reference!,
    signer: row.agreement_signer!,
    signedAt: row.agreement_signed_at.toISOString(),
    expiresAt: row.agreement_expires_at.toISOString()
  }
}

export function toClientView (row: ServiceClient, now = Date.now()): ServiceClientView {
  const agreement = agreementOf(row)
  return {
    clientId: row.client_id,
    name: row.name,
    unit: row.unit_code,
    roles: row.roles,
    status: row.disabled_at ? 'disabled' : 'active',
    kind: row.kind,
    vendor: agreement
      ? {
          name: row.vendor_name!,
          agreement: {
            ...agreement,
            expired: row.agreement_expires_at!.getTime() <= now,
            recordedBy: row.agreement_recorded_by!,
            recordedAt: row.agreement_recorded_at!.toISOString()
          }
        }
      : null,
    holder: row.holder_sub,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at ? row.last_used_at.toISOString() : null,
    allowedAddresses: row.allowed_addresses
  }
}

/** The columns of an agreement recorded by `by`, now. */
function agreementColumns (agreement: Agreement, by: string) {
  return {
    agreement_reference: agreement.reference,
    agreement_signer: agreement.signer,
    agreement_signed_at: agreement.signedAt,
    agreement_expires_at: agreement.expiresAt,
    agreement_recorded_by: by,
    agreement_recorded_at: sql<Date>`now()`
  }
}

export interface NewClientValues extends ClientKindValues {
  clientId: string
  name: string
  unit: string
  roles: ClientRole[]
  secretHash: string
  holder: string | null
  createdBy: string
  /** canonical (terminal-control.ts) */
  allowedAddresses: string[]
}

export function createClientRepository (db: Kysely<Database>) {
  return {
    /** Inserts the client; a unit that does not exist is the caller's 400. */
    async create (values: NewClientValues, trx: Db = db) {
      return await trx.insertInto('service_clients').values({
        client_id: values.clientId,
        name: values.name,
        unit_code: values.unit,
        roles: values.roles,
        secret_hash: values.secretHash,
        created_by: values.createdBy,
        holder_sub: values.holder,
        kind: values.kind,
        allowed_addresses: values.allowedAddresses,
        ...(values.vendor ? { vendor_name: values.vendor.name, ...agreementColumns(values.vendor.agreement, values.createdBy) } : {})
      }).returningAll().executeTakeFirstOrThrow().catch((err: { code?: string }) => {
        if (err.code === '23503') throw new FieldError('unit', `no unit with code ${values.unit}`)
        throw err
      })
    },

    async find (clientId: string, trx: Db = db, { lock = false } = {}): Promise<ServiceClient | null> {
      let query = trx.selectFrom('service_clients').selectAll().where('client_id', '=', clientId)
      if (lock) query = query.forUpdate()
      return await query.executeTakeFirst() ?? null
    },

    async list ({ limit, after }: { limit: number, after?: string }): Promise<ServiceClient[]> {
      let query = db.selectFrom('service_clients').selectAll().orderBy('client_id').limit(limit)
      if (after !== undefined) query = query.where('client_id', '>', after)
      return await query.execute()
    },

    /** Disables an active client; null when there is none to disable (absent, or disabled already). */
    async disable (clientId: string, trx: Db = db): Promise<ServiceClient | null> {
      return await trx.updateTable('service_clients')
        .set({ disabled_at: sql<Date>`now()` })
        .where('client_id', '=', clientId)
        .where('disabled_at', 'is', null)
        .returningAll()
        .executeTakeFirst() ?? null
    },

    /** Disables every active client a person holds (their offboarding), in client-id order. */
    async disableHeldBy (sub: string, trx: Db = db): Promise<ServiceClient[]> {
      const rows = await trx.updateTable('service_clients')
        .set({ disabled_at: sql<Date>`now()` })
        .where('holder_sub', '=', sub)
        .where('disabled_at', 'is', null)
        .returningAll()
        .execute()
      return rows.sort((a, b) => a.client_id < b.client_id ? -1 : 1)
    },

    /** Replaces the agreement on record of a vendor client. */
    async renewAgreement (clientId: string, agreement: Agreement, by: string, trx: Db = db): Promise<ServiceClient> {
      return await trx.updateTable('service_clients')
        .set(agreementColumns(agreement, by))
        .where('client_id', '=', clientId)
        .where('kind', '=', 'vendor')
        .returningAll()
        .executeTakeFirstOrThrow()
    },

    async update (clientId: string, changes: { name?: string, allowedAddresses?: string[] }, trx: Db = db): Promise<ServiceClient> {
      return await trx.updateTable('service_clients').set({
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.allowedAddresses !== undefined ? { allowed_addresses: changes.allowedAddresses } : {})
      }).where('client_id', '=', clientId).returningAll().executeTakeFirstOrThrow()
    },

    async setHolder (clientId: string, holder: string, trx: Db = db): Promise<ServiceClient> {
      return await trx.updateTable('service_clients').set({ holder_sub: holder })
        .where('client_id', '=', clientId).returningAll().executeTakeFirstOrThrow()
    },

    async touch (clientId: string): Promise<void> {
      await db.updateTable('service_clients').set({ last_used_at: new Date() }).where('client_id', '=', clientId).execute()
    }
  }
}
export type ClientRepository = ReturnType<typeof createClientRepository>
