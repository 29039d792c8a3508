/**
 * The masking service's public entry: the engine (rules, strategies, kept forms, keys) and the
 * policies of datasets, for the catalog's sealing and the gateway's reads. Nothing else of
 * src/masking/ is imported from outside it; its routes are mounted by src/services.ts.
 * See docs/architecture.md.
 */
export { compileRule, compileRules, type RowMasker, type Rules } from './engine.js'
export { keptFormsOf, keptOf, maskOne, type KeptField, type KeptForms, type KeptProfile } from './kept-forms.js'
export { loadMaskingKey, type HashAlgorithm, type MaskingKey } from './keys.js'
export { compilePolicy, effectiveRule, effectiveRules, type EffectiveRule, type PolicyProfiles } from './policy.js'
export { type Profile } from './profiles.js'
export { createPolicyRepository } from './repository.js'
export { REDACT, type MaskFn } from './strategies.js'
export type { MaskingPolicyTable, MaskingPolicy, MaskingPolicyVersionTable, MaskingPolicyVersion } from './table.js'
