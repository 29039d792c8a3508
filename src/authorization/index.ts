/**
 * The authorization service's public entry: grant resolution and the consent filter for the data
 * path, and what the catalog asks of it (platform/ports.ts). Nothing else of src/authorization/ is
 * imported from outside it; its routes are mounted by src/services.ts. See docs/architecture.md.
 */
export { createSharingControl } from './sharing-control.js'
export { consentPredicate, restsOnConsent } from './consent-filter.js'
export { chooseGrant, heldGrants, unusableBecause, type AccessMode } from './grants/resolve.js'
export type { ConsentTable, Consent } from './consents/table.js'
export type { PurposeTable, Purpose } from './purposes/table.js'
export type { StoredCommitment, ShareWorkflow, RecipientKind, ShareRequestStatus, ShareRequestTable, ShareRequest, NewShareRequest, ShareRequestUpdate, ReviewParty, ShareRequestReviewTable, ShareRequestReview } from './share-requests/table.js'
export type { AgreementTable, Agreement, AgreementParty, AgreementSignatureTable, AgreementSignature } from './agreements/table.js'
export type { GrantStatus, GrantTable, Grant, NewGrant } from './grants/table.js'
export type { OpenRequestStatus, OpenRequestTable, OpenRequest, NewOpenRequest, OpenRequestReviewTable, OpenRequestReview } from './open-requests/table.js'
export type { OffboardingTable, Offboarding } from './principals/table.js'
