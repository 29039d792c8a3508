import { AUDIT_ROUTES } from '../access/audit.js'
import { CONSENTS_ROUTES } from '../access/consents.js'
import { CORRECTIONS_ROUTES } from '../access/corrections.js'
import { DATA_ROUTES } from '../access/data.js'
import { DATASETS_ROUTES } from '../access/datasets.js'
import { DESTRUCTIONS_ROUTES } from '../access/destructions.js'
import { EXPORTS_ROUTES } from '../access/exports.js'
import { MASKING_ROUTES } from '../access/masking.js'
import { OPEN_ROUTES } from '../access/open.js'
import { PLATFORM_ROUTES } from '../access/platform.js'
import { PRINCIPALS_ROUTES } from '../access/principals.js'
import { QUALITY_ROUTES } from '../access/quality.js'
import { RECORDS_ROUTES } from '../access/records.js'
import type { RouteCase } from '../access/route-case.js'
import { SHARING_ROUTES } from '../access/sharing.js'
import { SYSTEMS_ROUTES } from '../access/systems.js'

/** The one table of function-level authorization: every authenticated /api/v1 route and the roles that may call it. */
export const ACCESS_TABLE: RouteCase[] = [
  ...PLATFORM_ROUTES, ...DATASETS_ROUTES, ...RECORDS_ROUTES, ...CORRECTIONS_ROUTES, ...QUALITY_ROUTES, ...SYSTEMS_ROUTES, ...AUDIT_ROUTES, ...MASKING_ROUTES, ...SHARING_ROUTES,
  ...OPEN_ROUTES, ...CONSENTS_ROUTES, ...PRINCIPALS_ROUTES, ...DATA_ROUTES, ...DESTRUCTIONS_ROUTES, ...EXPORTS_ROUTES
]

/** Routes of /api/v1 that take no token by design. */
export const PUBLIC_ROUTES = new Set(['POST /api/v1/auth/token', 'POST /api/v1/open-requests', 'GET /api/v1/open-requests/{id}/status'])
