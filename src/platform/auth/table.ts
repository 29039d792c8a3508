import type { Generated, Selectable } from 'kysely'
import type { Role } from './roles.js'

/** One role assignment seen on an accepted token (migrations/0018): never the token itself. */
export interface PrincipalTable {
  id: Generated<string>
  issuer: string
  sub: string
  unit_code: string
  roles: Role[]
  client_id: string | null
  token_id: string | null
  token_expires_at: Date | null
  first_seen_at: Date
  last_seen_at: Date
  uses: Generated<string>
}
export type PrincipalRow = Selectable<PrincipalTable>
