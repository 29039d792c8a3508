import type { Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, UpdatedAt } from '../../db/columns.js'

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
