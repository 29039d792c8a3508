/**
 * The catalog service's public entry: datasets, their encryption and open state, record formats,
 * as other services may use them. Nothing else of src/catalog/ is imported from outside it; its
 * routes are mounted by src/services.ts. See docs/architecture.md.
 */
export { type RecordCorrectionTable } from './corrections/table.js'
export { canSee, type InterestCheck } from './datasets/access.js'
export { FieldNameSchema } from './datasets/schemas.js'
export { type RecordCodec } from './encryption/codec.js'
export { blindFor, checkSealedFilter } from './encryption/filter.js'
export { type Encryption } from './encryption/plugin.js'
export { createDatasetDirectory, createDatasetReader, type DatasetReader } from './datasets/directory.js'
export { openDatasets, openStateOf, type OpenDataset } from './open-reviews/repository.js'
export { BatchTooLargeError, NDJSON, parseNdjson } from './records/ndjson.js'
export { RejectionSchema } from './records/schemas.js'
export type { UnitTable, Unit, NewUnit, UnitUpdate } from './units/table.js'
export type { GradingLevelTable, GradingLevel, StoredField, DatasetTable, StoredReference, StoredCollection, StoredGradingProposal, Dataset, NewDataset, DatasetUpdate, DatasetGradeHistoryTable } from './datasets/table.js'
export type { RecordTable, StoredRecord, IngestBatchTable, IngestBatch } from './records/table.js'
export type { BusinessSystemTable, BusinessSystem } from './systems/table.js'
export type { OpenReviewLevel, OpenReviewRoundTable, OpenReviewRound, OpenReviewTable, OpenReview } from './open-reviews/table.js'
export type { EncryptionSweepTable, MasterKeyTable, DataKeyTable } from './encryption/table.js'
export type { DestructionScope, DestructionStatus, DestructionTable, Destruction, NewDestruction, DestructionReviewTable, DestructionReview, DestructionCertificateTable, DestructionCertificateRow } from './destructions/table.js'
