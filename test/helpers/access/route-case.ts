import type { Role } from '../../../src/platform/auth/roles.js'

/** One row of the access table: a route and the roles that may call it. */
export interface RouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  /** the route template as the OpenAPI document writes it */
  path: string
  url: string
  payload?: (n: number) => object
  /** roles that may call it; everyone else gets 403 */
  allowed: readonly Role[] | 'all'
}
