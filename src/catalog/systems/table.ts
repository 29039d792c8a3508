import type { ColumnType, Generated, Selectable } from 'kysely'
import type { CreatedAt, UpdatedAt } from '../../db/columns.js'

export interface BusinessSystemTable {
  id: Generated<string>
  unit_code: string
  name: string
  description: string | null
  owner_name: string
  owner_contact: string
  datasets: string[]
  confirmed_at: ColumnType<Date, Date | string | undefined, Date | string>
  confirmed_by: string
  created_by: string
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type BusinessSystem = Selectable<BusinessSystemTable>
