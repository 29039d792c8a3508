import { isOffice } from '../platform/auth/roles.js'
import type { Principal } from '../platform/auth/plugin.js'

/**
 * Who sees the objects of a share (requests, agreements, grants): the office and auditors all; a
 * unit those it consumes and, for its stewards, those on the data it produces. Others get 404.
 */
export type UnitScope = { all: true } | { consumer: string, producer: string | null }

export function unitScope (principal: Principal): UnitScope {
  if (isOffice(principal)) return { all: true }
  return { consumer: principal.unit, producer: principal.roles.includes('steward') ? principal.unit : null }
}

export function canSee (principal: Principal, row: { consumer_unit: string, producer_unit: string }): boolean {
  const scope = unitScope(principal)
  return 'all' in scope || row.consumer_unit === scope.consumer || row.producer_unit === scope.producer
}
