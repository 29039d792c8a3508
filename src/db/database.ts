import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/** Timestamps come back as Date, may be written as Date or ISO string, and default in SQL. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>

// catalog service
export interface UnitTable {
  code: string
  name: string
  officer_name: string
  officer_contact: string
  description: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type Unit = Selectable<UnitTable>
export type NewUnit = Insertable<UnitTable>
export type UnitUpdate = Updateable<UnitTable>

// platform: service clients of the client-credentials grant
export interface ServiceClientTable {
  id: Generated<string>
  client_id: string
  name: string
  unit_code: string
  roles: string[]
  secret_hash: string
  disabled_at: Date | null
  created_by: string
  created_at: CreatedAt
  last_used_at: Date | null
}
export type ServiceClient = Selectable<ServiceClientTable>
export type NewServiceClient = Insertable<ServiceClientTable>

export interface Database {
  units: UnitTable
  service_clients: ServiceClientTable
}
