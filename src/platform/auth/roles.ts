/** The roles of the README ("Getting a token"). A token carries a subset; authorization is deny unless a role grants. */
export const ROLES = ['system_admin', 'security_admin', 'auditor', 'steward', 'consumer', 'supervisor', 'leadership'] as const
export type Role = typeof ROLES[number]

/**
 * The "three officers" (三员分立) of R1.2: system administrator, security administrator and security
 * auditor are never one account.
 */
export const THREE_OFFICERS: readonly Role[] = ['system_admin', 'security_admin', 'auditor']

export function isRole (value: string): value is Role {
  return (ROLES as readonly string[]).includes(value)
}

/** Why a set of roles may not be held together, or null when it may. */
export function roleConflict (roles: readonly string[]): string | null {
  const officers = THREE_OFFICERS.filter((r) => roles.includes(r))
  return officers.length > 1 ? `roles ${officers.join(' and ')} are separated duties and cannot be held together` : null
}

/** Parses a comma list given on a command line or in a form, refusing unknown and conflicting roles. */
export function parseRoles (list: string): Role[] {
  const roles = [...new Set(list.split(',').map((r) => r.trim()).filter(Boolean))]
  const unknown = roles.filter((r) => !isRole(r))
  if (unknown.length > 0) throw new Error(`unknown role(s): ${unknown.join(', ')}; known: ${ROLES.join(', ')}`)
  if (roles.length === 0) throw new Error('at least one role is required')
  const conflict = roleConflict(roles)
  if (conflict) throw new Error(conflict)
  return roles as Role[]
}

/** The data-management office and the auditors: they see every entry of the catalog (R2.8). */
export function isOffice (principal: { roles: readonly string[] }): boolean {
  return principal.roles.includes('security_admin') || principal.roles.includes('auditor')
}
