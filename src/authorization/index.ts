/**
 * The authorization service's public entry: grant resolution and the consent filter for the data
 * path, and what the catalog asks of it (platform/ports.ts). Nothing else of src/authorization/ is
 * imported from outside it; its routes are mounted by src/services.ts. See docs/architecture.md.
 */
export { createSharingControl } from './sharing-control.js'
export { consentPredicate, restsOnConsent } from './consent-filter.js'
export { chooseGrant, heldGrants, unusableBecause, type AccessMode } from './grants/resolve.js'
