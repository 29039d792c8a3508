/**
 * The one schema as Kysely sees it: a table type per table, each beside the feature that owns it
 * (`src/<service>/<feature>/table.ts`, docs/architecture.md "Tables"). The row types are re-exported
 * here, so that `import type { Dataset } from '../db/database.js'` keeps working.
 */
import type { RecordCorrectionTable, UnitTable, GradingLevelTable, DatasetTable, DatasetGradeHistoryTable, RecordTable, IngestBatchTable, BusinessSystemTable, OpenReviewRoundTable, OpenReviewTable, EncryptionSweepTable, MasterKeyTable, DataKeyTable, DestructionTable, DestructionReviewTable, DestructionCertificateTable } from '../catalog/index.js'
import type { ServiceClientTable } from '../platform/clients/table.js'
import type { PrincipalTable } from '../platform/auth/table.js'
import type { DomainEventTable } from '../platform/events-table.js'
import type { AuditEventTable, AuditChainHeadTable, AuditCheckpointTable, AuditAlertTable, AuditBlacklistTable } from '../audit/index.js'
import type { MaskingPolicyTable, MaskingPolicyVersionTable } from '../masking/index.js'
import type { ConsentTable, PurposeTable, ShareRequestTable, ShareRequestReviewTable, AgreementTable, AgreementSignatureTable, GrantTable, OpenRequestTable, OpenRequestReviewTable, OffboardingTable } from '../authorization/index.js'
import type { DataPathVersionTable, GrantUsageTable, ExportTable, ExportDecoyTable } from '../gateway/index.js'
export type { UnitTable, Unit, NewUnit, UnitUpdate, GradingLevelTable, GradingLevel, StoredField, DatasetTable, StoredReference, StoredCollection, StoredGradingProposal, Dataset, NewDataset, DatasetUpdate, DatasetGradeHistoryTable, RecordTable, StoredRecord, IngestBatchTable, IngestBatch, BusinessSystemTable, BusinessSystem, OpenReviewLevel, OpenReviewRoundTable, OpenReviewRound, OpenReviewTable, OpenReview, EncryptionSweepTable, MasterKeyTable, DataKeyTable, DestructionScope, DestructionStatus, DestructionTable, Destruction, NewDestruction, DestructionReviewTable, DestructionReview, DestructionCertificateTable, DestructionCertificateRow } from '../catalog/index.js'
export type { ClientKind, ClientRole, ServiceClientTable, ServiceClient, NewServiceClient } from '../platform/clients/table.js'
export type { PrincipalTable, PrincipalRow } from '../platform/auth/table.js'
export type { DomainEventTable, DomainEvent } from '../platform/events-table.js'
export type { AuditEventTable, AuditEventRow, AuditChainHeadTable, AuditCheckpointTable, AuditCheckpoint, AuditAlertTable, BlacklistKind, AuditBlacklistTable, BlacklistEntry } from '../audit/index.js'
export type { MaskingPolicyTable, MaskingPolicy, MaskingPolicyVersionTable, MaskingPolicyVersion } from '../masking/index.js'
export type { ConsentTable, Consent, PurposeTable, Purpose, StoredCommitment, ShareWorkflow, RecipientKind, ShareRequestStatus, ShareRequestTable, ShareRequest, NewShareRequest, ShareRequestUpdate, ReviewParty, ShareRequestReviewTable, ShareRequestReview, AgreementTable, Agreement, AgreementParty, AgreementSignatureTable, AgreementSignature, GrantStatus, GrantTable, Grant, NewGrant, OpenRequestStatus, OpenRequestTable, OpenRequest, NewOpenRequest, OpenRequestReviewTable, OpenRequestReview, OffboardingTable, Offboarding } from '../authorization/index.js'
export type { DataPathVersionTable, GrantUsageTable, ExportStatus, ExportTable, ExportRow, NewExport, ExportDecoyTable, ExportDecoy } from '../gateway/index.js'

export interface Database {
  units: UnitTable
  service_clients: ServiceClientTable
  principals: PrincipalTable
  grading_levels: GradingLevelTable
  datasets: DatasetTable
  dataset_grade_history: DatasetGradeHistoryTable
  records: RecordTable
  encryption_sweeps: EncryptionSweepTable
  ingest_batches: IngestBatchTable
  business_systems: BusinessSystemTable
  domain_events: DomainEventTable
  masking_policies: MaskingPolicyTable
  masking_policy_versions: MaskingPolicyVersionTable
  audit_events: AuditEventTable
  audit_chain_head: AuditChainHeadTable
  audit_checkpoints: AuditCheckpointTable
  audit_alerts: AuditAlertTable
  consents: ConsentTable
  purposes: PurposeTable
  share_requests: ShareRequestTable
  share_request_reviews: ShareRequestReviewTable
  agreements: AgreementTable
  agreement_signatures: AgreementSignatureTable
  grants: GrantTable
  // open catalog: open reviews and open requests (migrations/0007)
  open_review_rounds: OpenReviewRoundTable
  open_reviews: OpenReviewTable
  open_requests: OpenRequestTable
  open_request_reviews: OpenRequestReviewTable
  // audit: blacklist (migrations/0008)
  audit_blacklist: AuditBlacklistTable
  // authorization: offboarding; platform: vendor agreements of service clients (migrations/0009)
  offboardings: OffboardingTable
  // gateway data path (migrations/0011)
  data_path_versions: DataPathVersionTable
  grant_usage: GrantUsageTable
  // catalog: encryption at rest (migrations/0014)
  master_keys: MasterKeyTable
  data_keys: DataKeyTable
  // gateway: exports (migrations/0013)
  exports: ExportTable
  export_decoys: ExportDecoyTable
  // catalog: destructions (migrations/0012)
  destructions: DestructionTable
  destruction_reviews: DestructionReviewTable
  destruction_certificates: DestructionCertificateTable
  // catalog: data-error corrections (migrations/0022)
  record_corrections: RecordCorrectionTable
}
