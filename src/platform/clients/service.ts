import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, ServiceClient } from '../../db/database.js'
import type { Principal } from '../auth/plugin.js'
import { canonicalAddresses } from '../auth/terminal-control.js'
import { hashSecret, newSecret } from '../crypto.js'
import { domainEvents } from '../domain-events.js'
import { NotFoundError } from '../errors.js'
import { ClientNotVendorError } from './errors.js'
import { agreementOf, createClientRepository } from './repository.js'
import type { Agreement, CreateClient, UpdateClient } from './schemas.js'
import { checkAgreement, kindOf } from './vendor-agreement.js'

/** every event about a client names its unit, name and kind */
const event = domainEvents({
  service: 'platform',
  objectType: 'service_client',
  about: (row: ServiceClient) => ({ id: row.client_id, details: { unit: row.unit_code, name: row.name, kind: row.kind } })
})

export interface ClientServiceOptions {
  /** reloads this process's terminal control after a change of some client's allowed addresses */
  refreshTerminalControl: () => Promise<void>
}

/** Service clients as `system_admin` manages them: each change with its event, in one transaction. */
export function createClientService (db: Kysely<Database>, { refreshTerminalControl }: ClientServiceOptions) {
  const clients = createClientRepository(db)

  /** The client, locked, or a 404. */
  async function locked (trx: Kysely<Database>, clientId: string): Promise<ServiceClient> {
    const row = await clients.find(clientId, trx, { lock: true })
    if (!row) throw new NotFoundError(`no client ${clientId}`)
    return row
  }

  return {
    /** The client registered, and its secret (which only the caller ever sees: its hash is stored). */
    async create (input: CreateClient, actor: Principal, requestId: string): Promise<{ client: ServiceClient, secret: string }> {
      const { kind, vendor } = kindOf(input)
      const allowedAddresses = canonicalAddresses(input.allowedAddresses ?? [])
      const secret = newSecret()
      const secretHash = await hashSecret(secret)
      const client = await db.transaction().execute(async (trx) => {
        const created = await clients.create({
          clientId: `dgc_${randomBytes(12).toString('base64url')}`,
          name: input.name,
          unit: input.unit,
          roles: input.roles,
          secretHash,
          holder: input.holder ?? null,
          kind,
          vendor,
          createdBy: actor.sub,
          allowedAddresses
        }, trx)
        await event(trx, { actor, requestId }, 'client.create', created, {
          roles: created.roles, holder: created.holder_sub, allowedAddresses, ...(vendor ? { vendor: vendor.name, agreement: agreementOf(created) } : {})
        })
        return created
      })
      if (allowedAddresses.length > 0) await refreshTerminalControl()
      return { client, secret }
    },

    /** A new name or terminal control (allowed addresses); the client as it is after. */
    async update (clientId: string, input: UpdateClient, actor: Principal, requestId: string): Promise<ServiceClient> {
      const { name, allowedAddresses } = input
      const changes = { ...(name !== undefined ? { name } : {}), ...(allowedAddresses !== undefined ? { allowedAddresses: canonicalAddresses(allowedAddresses) } : {}) }
      const row = await db.transaction().execute(async (trx) => {
        const before = await locked(trx, clientId)
        const after = await clients.update(before.client_id, changes, trx)
        await event(trx, { actor, requestId }, 'client.update', after, {
          before: { name: before.name, allowedAddresses: before.allowed_addresses },
          after: { name: after.name, allowedAddresses: after.allowed_addresses }
        })
        return after
      })
      if (changes.allowedAddresses !== undefined) await refreshTerminalControl()
      return row
    },

    /** The client disabled (a disabled one stays as it is, without an event). */
    async disable (clientId: string, actor: Principal, requestId: string): Promise<ServiceClient> {
      const row = await db.transaction().execute(async (trx) => {
        const disabled = await clients.disable(clientId, trx)
        if (!disabled) return await clients.find(clientId, trx)
        await event(trx, { actor, requestId }, 'client.disable', disabled, { before: { status: 'active' }, after: { status: 'disabled' } })
        return disabled
      })
      if (!row) throw new NotFoundError(`no client ${clientId}`)
      return row
    },

    /** The person who answers for the client from now on. */
    async setHolder (clientId: string, holder: string, actor: Principal, requestId: string): Promise<ServiceClient> {
      return await db.transaction().execute(async (trx) => {
        const before = await locked(trx, clientId)
        const after = await clients.setHolder(before.client_id, holder, trx)
        await event(trx, { actor, requestId }, 'client.holder', after, { before: { holder: before.holder_sub }, after: { holder: after.holder_sub } })
        return after
      })
    },

    /** A vendor client's renewed confidentiality agreement (signed already and not expired) on record. */
    async renewAgreement (clientId: string, agreement: Agreement, actor: Principal, requestId: string): Promise<ServiceClient> {
      checkAgreement(agreement, '')
      return await db.transaction().execute(async (trx) => {
        const before = await locked(trx, clientId)
        if (before.kind !== 'vendor') throw new ClientNotVendorError(before.client_id)
        const after = await clients.renewAgreement(before.client_id, agreement, actor.sub, trx)
        await event(trx, { actor, requestId }, 'client.agreement', after, { vendor: after.vendor_name, before: agreementOf(before), after: agreementOf(after) })
        return after
      })
    }
  }
}
