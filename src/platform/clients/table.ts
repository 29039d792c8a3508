import type { Generated, Insertable, Selectable } from 'kysely'
import type { CreatedAt, NullableTime } from '../../db/columns.js'
import type { CLIENT_ROLES } from './schemas.js'

// platform: service clients of the client-credentials grant
/** `vendor`: an outside technical service provider, under a confidentiality agreement (R1.1) */
export type ClientKind = 'internal' | 'vendor'
/** the roles a machine account may hold */
export type ClientRole = typeof CLIENT_ROLES[number]
export interface ServiceClientTable {
  id: Generated<string>
  client_id: string
  name: string
  unit_code: string
  roles: ClientRole[]
  secret_hash: string
  disabled_at: Date | null
  created_by: string
  created_at: CreatedAt
  last_used_at: Date | null
  // the person responsible for the client, and a vendor's confidentiality agreement (migrations/0009)
  holder_sub: string | null
  kind: Generated<ClientKind>
  vendor_name: string | null
  agreement_reference: string | null
  agreement_signer: string | null
  agreement_signed_at: NullableTime
  agreement_expires_at: NullableTime
  agreement_recorded_by: string | null
  agreement_recorded_at: NullableTime
  // terminal control: addresses and CIDR ranges its tokens are accepted from; empty: anywhere (migrations/0018)
  allowed_addresses: Generated<string[]>
}
export type ServiceClient = Selectable<ServiceClientTable>
export type NewServiceClient = Insertable<ServiceClientTable>
