import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { RecordCorrectionTable } from '../catalog/index.js'

/** Timestamps come back as Date, may be written as Date or ISO string, and default in SQL. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>

// catalog service
export interface UnitTable {
  code: string
  name: string
  officer_name: string
  officer_contact: string
  description: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type Unit = Selectable<UnitTable>
export type NewUnit = Insertable<UnitTable>
export type UnitUpdate = Updateable<UnitTable>

// platform: service clients of the client-credentials grant
/** `vendor`: an outside technical service provider, under a confidentiality agreement (R1.1) */
export type ClientKind = 'internal' | 'vendor'
type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
export interface ServiceClientTable {
  id: Generated<string>
  client_id: string
  name: string
  unit_code: string
  roles: string[]
  secret_hash: string
  disabled_at: Date | null
  created_by: string
  created_at: CreatedAt
  last_used_at: Date | null
  // the person responsible for the client, and a vendor's confidentiality agreement (migrations/0009)
  holder_sub: string | null
  kind: Generated<ClientKind>
  vendor_name: string | null
  agreement_reference: string | null
  agreement_signer: string | null
  agreement_signed_at: NullableTime
  agreement_expires_at: NullableTime
  agreement_recorded_by: string | null
  agreement_recorded_at: NullableTime
  // terminal control: addresses and CIDR ranges its tokens are accepted from; empty: anywhere (migrations/0018)
  allowed_addresses: Generated<string[]>
}
export type ServiceClient = Selectable<ServiceClientTable>
/** One role assignment seen on an accepted token (migrations/0018): never the token itself. */
export interface PrincipalTable {
  id: Generated<string>
  issuer: string
  sub: string
  unit_code: string
  roles: string[]
  client_id: string | null
  token_id: string | null
  token_expires_at: Date | null
  first_seen_at: Date
  last_seen_at: Date
  uses: Generated<string>
}
export type PrincipalRow = Selectable<PrincipalTable>
export type NewServiceClient = Insertable<ServiceClientTable>

// catalog service: grading policy, datasets, records, ingest batches, asset registry
export interface GradingLevelTable {
  sensitivity: number
  minimum_grade: string
  national_grade: string
  label: string
  updated_by: string
  updated_at: UpdatedAt
}
export type GradingLevel = Selectable<GradingLevelTable>

/** A field of a dataset as stored in `datasets.fields` (the API shape, camelCase inside JSONB). */
export interface StoredField {
  name: string
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'datetime'
  required: boolean
  piType: string | null
  sensitivity: number
  description: string | null
  format: string | null
  enum: (string | number)[] | null
  pattern: string | null
  maxLength: number | null
  minimum: number | null
  maximum: number | null
  masking: { strategy: string, [param: string]: unknown } | null
}

export interface DatasetTable {
  code: string
  name: string
  description: string | null
  producer_unit: string
  subject: string
  category: string
  grade: string
  national_grade: string
  share_attribute: string
  open_attribute: string
  personnel_basic: boolean
  update_frequency: string
  retention_days: number
  holds_pi: boolean
  sensitive_pi: boolean
  children_pi: boolean
  primary_key: string[]
  person_key: string | null
  fields: ColumnType<StoredField[], string, string>
  sources: string[]
  metadata_restricted: boolean
  status: string
  grade_version: Generated<number>
  created_by: string
  created_at: CreatedAt
  updated_at: UpdatedAt
  published_at: Date | null
  /** fields of an important dataset the office marked for encryption at rest (migrations/0014) */
  encrypted_fields: ColumnType<string[], string[] | undefined, string[]>
  /** the office's decision on the grading (migrations/0016): proposed, confirmed, rejected */
  grading_status: ColumnType<string, string | undefined, string>
  grading_decided_by: ColumnType<string | null, string | null | undefined, string | null>
  grading_decided_at: ColumnType<Date | null, Date | null | undefined, Date | null>
  grading_reason: ColumnType<string | null, string | null | undefined, string | null>
  /** a published dataset's changes that wait for the office; the row keeps the confirmed terms */
  grading_proposal: ColumnType<StoredGradingProposal | null, string | null | undefined, string | null>
  collection: ColumnType<StoredCollection | null, string | null | undefined, string | null>
}

/** A reference to a document: an assessment, a decision's minutes (migrations/0016). */
export interface StoredReference { reference: string, date: string }

/** How a dataset's data is collected (R3.2), as stored in `datasets.collection` (the API shape). */
export interface StoredCollection {
  method?: string
  channel?: string
  scope?: string
  volume?: string
  frequency?: string
  legalBasis?: string
  rules?: string
  riskAssessment?: StoredReference
  necessityAssessment?: StoredReference | string
  collectiveDecision?: StoredReference | string
}

/** Changes of a published dataset that wait for the office, as stored in `datasets.grading_proposal`. */
export interface StoredGradingProposal {
  changes: {
    grade?: string
    nationalGrade?: string
    shareAttribute?: string
    openAttribute?: string
    fields?: StoredField[]
    holdsPersonalInfo?: boolean
    sensitivePersonalInfo?: boolean
    childrenPersonalInfo?: boolean
    collection?: StoredCollection | null
  }
  proposedBy: string
  proposedAt: string
  reason: string | null
}
export type Dataset = Selectable<DatasetTable>
export type NewDataset = Insertable<DatasetTable>
export type DatasetUpdate = Updateable<DatasetTable>

export interface DatasetGradeHistoryTable {
  dataset_code: string
  version: number
  grade: string
  national_grade: string
  share_attribute: string
  open_attribute: string
  reason: string
  changed_by: string
  changed_at: CreatedAt
}

export interface RecordTable {
  dataset_code: string
  /** the primary-key value as text; for a composite key, the JSON array of the values as text */
  record_key: string
  data: ColumnType<Record<string, unknown>, string, string>
  person_key: string | null
  batch_id: string
  source_unit: string
  source_sub: string
  source_client: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  /** the values of the encrypted fields, sealed together under the dataset's data key (migrations/0014) */
  sealed: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>
  /** blind indexes of the encrypted fields: field → keyed HMAC of the value (migrations/0014) */
  blind: ColumnType<Record<string, string> | null, string | null | undefined, string | null>
  /** masked forms of the sealed values that do not depend on the grant, by profile, and `#` the rules' digest (migrations/0021) */
  masked: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>
  /** the keyed digest of person_key for the person-access trace, made at ingest, and which trace key made it (migrations/0025) */
  person_digest: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>
  person_digest_key: ColumnType<number | null, number | null | undefined, number | null>
}
export type StoredRecord = Selectable<RecordTable>

export interface IngestBatchTable {
  id: string
  dataset_code: string
  unit: string
  sub: string
  client: string | null
  format: string
  received: number
  accepted: number
  rejected: number
  /** rejection reasons counted by field: {field: count} */
  errors: ColumnType<Record<string, number>, string | undefined, string>
  created_at: CreatedAt
}
export type IngestBatch = Selectable<IngestBatchTable>

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

// platform: domain events of every service, for the audit log
export interface DomainEventTable {
  id: Generated<string>
  occurred_at: CreatedAt
  service: string
  action: string
  actor_sub: string
  actor_unit: string
  actor_client: string | null
  object_type: string
  object_id: string
  dataset_code: string | null
  request_id: string | null
  details: ColumnType<Record<string, unknown>, string | undefined, never>
}
export type DomainEvent = Selectable<DomainEventTable>

// audit service: the hash-chained log, its head and its signed checkpoints (migrations/0005)
export interface AuditEventTable {
  seq: ColumnType<string, string, never>
  occurred_at: ColumnType<Date, string, never>
  recorded_at: ColumnType<Date, string, never>
  service: string
  action: string
  operation: string
  outcome: string
  actor_sub: string
  actor_unit: string | null
  actor_roles: string[]
  actor_client: string | null
  actor_ip: string | null
  object_type: string | null
  object_id: string | null
  dataset_code: string | null
  fields: string[] | null
  row_count: ColumnType<string | null, string | null, never>
  grant_id: string | null
  request_id: string | null
  domain_event_id: ColumnType<string | null, string | null, never>
  details: ColumnType<Record<string, unknown>, string, never>
  hash_alg: string
  prev_hash: string
  hash: string
}
export type AuditEventRow = Selectable<AuditEventTable>

export interface AuditChainHeadTable {
  id: number
  seq: string
  hash: string
  checkpoint_seq: string
  checkpoint_at: UpdatedAt
}

export interface AuditCheckpointTable {
  seq: ColumnType<string, string, never>
  head_hash: string
  hash_alg: string
  created_at: ColumnType<Date, string, never>
  reason: string
  key_id: string
  algorithm: string
  signature: string
}
export type AuditCheckpoint = Selectable<AuditCheckpointTable>

export interface AuditAlertTable {
  id: ColumnType<number, never, never>
  rule: string
  actor_key: string
  bucket: string
  actor_sub: string
  actor_unit: string | null
  actor_ip: string | null
  window_start: Date
  window_end: Date
  count: string
  first_seq: string
  last_seq: string
  status: string
  acked_by: string | null
  acked_at: Date | null
  note: string | null
  created_at: CreatedAt
  /** what the rule found beyond its count: the grant and its quota, the datasets, the baseline (migrations/0010) */
  details: ColumnType<Record<string, unknown>, string | undefined, string>
}

// masking service: policies of datasets per scenario profile, versioned (migrations/0004)
/** rules per profile: {display: {field: {strategy, …params}}, internal_analysis: …, third_party: …} */
type PolicyProfilesColumn = ColumnType<Record<string, Record<string, { strategy: string, [param: string]: unknown }>>, string, string>
export interface MaskingPolicyTable {
  dataset_code: string
  version: number
  profiles: PolicyProfilesColumn
  updated_by: string
  updated_at: UpdatedAt
}
export type MaskingPolicy = Selectable<MaskingPolicyTable>

export interface MaskingPolicyVersionTable {
  dataset_code: string
  version: number
  profiles: PolicyProfilesColumn
  reason: string
  changed_by: string
  changed_at: CreatedAt
}
export type MaskingPolicyVersion = Selectable<MaskingPolicyVersionTable>

// authorization service: share requests, reviews, agreements, grants, consents (migrations/0006)
/** a calendar day, `YYYY-MM-DD` (both drivers return dates as text) */
type Day = string
type JsonColumn<T> = ColumnType<T, string, string>

export interface ConsentTable {
  id: Generated<string>
  /** order of recording, for keyset pagination */
  seq: ColumnType<string, never, never>
  unit_code: string
  person_key: string
  dataset_code: string | null
  /** free text; optional since purposes are a list (migrations/0019) */
  purpose: string | null
  /** the purpose consented to (migrations/0019) */
  purpose_code: string
  kind: 'general' | 'separate' | 'guardian'
  evidence: string
  given_at: ColumnType<Date, Date | string, Date | string>
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  status: Generated<'active' | 'withdrawn'>
  withdrawn_at: Date | null
  withdrawal_reason: string | null
  recorded_by: string
  created_at: CreatedAt
}
export type Consent = Selectable<ConsentTable>

/** the campus's purposes of use, kept by the office; retired, never deleted (migrations/0019) */
export interface PurposeTable {
  code: string
  name_zh: string
  name_en: string
  description: string
  retired_at: Date | null
  retired_by: string | null
  created_by: string
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type Purpose = Selectable<PurposeTable>

/** the usage commitment a consumer signed (R7.4): its text, digests, signer and time */
export interface StoredCommitment {
  text: string
  sha256: string
  sm3: string
  signerSub: string
  signerUnit: string
  signedAt: string
}

export type ShareWorkflow = 'none' | 'rule' | 'office' | 'producer_office' | 'producer_office_leadership'
/** who receives data provided outside the university (migrations/0015) */
export type RecipientKind = 'government' | 'enterprise' | 'university' | 'research_institute' | 'individual' | 'other'
export type ShareRequestStatus = 'pending_review' | 'approved' | 'active' | 'rejected' | 'withdrawn'

export interface ShareRequestTable {
  id: Generated<string>
  /** order of filing, for keyset pagination */
  seq: ColumnType<string, never, never>
  dataset_code: string
  producer_unit: string
  consumer_unit: string
  subject: string | null
  requested_by: string
  requested_client: string | null
  fields: string[]
  row_filter: JsonColumn<Record<string, unknown>>
  purpose: string
  legal_basis: string
  access_modes: string[]
  valid_from: Day
  valid_until: Day
  daily_row_quota: number
  third_party: boolean
  third_party_name: string | null
  consent_ids: ColumnType<string[], string[] | undefined, string[]>
  workflow: ShareWorkflow
  needs_agreement: boolean
  status: ShareRequestStatus
  decision_reason: string | null
  review_due_at: Date | null
  overdue_reported_at: Date | null
  masked: Generated<boolean>
  unmasked_reason: string | null
  collective_decision: string | null
  external_approval: string | null
  person_count: number | null
  commitment: ColumnType<StoredCommitment | null, string | null | undefined, string | null>
  /** provided outside the university (对外提供), to the recipient (migrations/0015) */
  external: Generated<boolean>
  recipient_name: string | null
  recipient_kind: RecipientKind | null
  /** the grant this request renews (migrations/0015) */
  renews: string | null
  /** the use rests on the persons' consent, and the purpose it must be for (migrations/0019) */
  consent_based: Generated<boolean>
  purpose_code: ColumnType<string | null, string | null | undefined, string | null>
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type ShareRequest = Selectable<ShareRequestTable>
export type NewShareRequest = Insertable<ShareRequestTable>
export type ShareRequestUpdate = Updateable<ShareRequestTable>

export type ReviewParty = 'rule' | 'producer' | 'office' | 'leadership'
export interface ShareRequestReviewTable {
  id: Generated<string>
  share_request_id: string
  party: ReviewParty
  decision: 'approve' | 'reject'
  reason: string | null
  reviewer_sub: string
  reviewer_unit: string
  details: ColumnType<Record<string, unknown>, string | undefined, never>
  reviewed_at: CreatedAt
}
export type ShareRequestReview = Selectable<ShareRequestReviewTable>

export interface AgreementTable {
  id: Generated<string>
  share_request_id: string
  consumer_unit: string
  producer_unit: string
  content: string
  digest_sha256: string
  digest_sm3: string
  status: 'pending_signatures' | 'signed' | 'void'
  created_at: CreatedAt
  completed_at: Date | null
}
export type Agreement = Selectable<AgreementTable>

export type AgreementParty = 'consumer' | 'producer' | 'office'
export interface AgreementSignatureTable {
  agreement_id: string
  party: AgreementParty
  signer_sub: string
  signer_unit: string
  signed_at: CreatedAt
}
export type AgreementSignature = Selectable<AgreementSignatureTable>

export type GrantStatus = 'active' | 'suspended' | 'revoked'
export interface GrantTable {
  id: Generated<string>
  seq: ColumnType<string, never, never>
  share_request_id: string
  consumer_unit: string
  subject: string | null
  dataset_code: string
  producer_unit: string
  fields: string[]
  row_filter: JsonColumn<Record<string, unknown>>
  purpose: string
  access_modes: string[]
  valid_from: Day
  valid_until: Day
  daily_row_quota: number
  masked: boolean
  third_party: boolean
  children_pi: boolean
  consent_ids: ColumnType<string[], string[] | undefined, string[]>
  status: GrantStatus
  status_reason: string | null
  status_changed_by: string | null
  status_changed_at: Date | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  /** re-certification (migrations/0017): the last decision of the producer's steward; due GRANT_RECERTIFY_DAYS after it (or after creation) */
  recertified_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  recertified_by: ColumnType<string | null, string | null | undefined, string | null>
  recertification_decision: ColumnType<'keep' | 'revoke' | null, 'keep' | 'revoke' | null | undefined, 'keep' | 'revoke' | null>
  recertification_reason: ColumnType<string | null, string | null | undefined, string | null>
  /** when the current period's due date was reported to the audit log (once per period) */
  recertification_reported_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  /** the request said it rests on consent; the purpose a person's consent must be for (migrations/0019) */
  consent_based: Generated<boolean>
  purpose_code: ColumnType<string | null, string | null | undefined, string | null>
}
export type Grant = Selectable<GrantTable>
export type NewGrant = Insertable<GrantTable>

// catalog: open reviews (migrations/0007)
export type OpenReviewLevel = 1 | 2 | 3
export interface OpenReviewRoundTable {
  id: Generated<string>
  dataset_code: string
  round: number
  status: 'in_review' | 'approved' | 'rejected'
  started_by: string
  started_at: CreatedAt
  closed_at: Date | null
  approved_grade_version: number | null
  approved_open_attribute: string | null
}
export type OpenReviewRound = Selectable<OpenReviewRoundTable>

export interface OpenReviewTable {
  id: Generated<string>
  round_id: string
  level: OpenReviewLevel
  decision: 'approve' | 'reject'
  reason: string | null
  reviewer_sub: string
  reviewer_unit: string
  reviewed_at: CreatedAt
}
export type OpenReview = Selectable<OpenReviewTable>

// authorization: open requests (migrations/0007)
export type OpenRequestStatus = 'pending_review' | 'approved' | 'rejected'
export interface OpenRequestTable {
  id: Generated<string>
  seq: ColumnType<string, never, never>
  dataset_code: string
  producer_unit: string
  applicant_name: string
  applicant_organisation: string
  applicant_contact: string
  applicant_qualification: string
  purpose: string
  fields: string[]
  scope: string
  status: OpenRequestStatus
  receipt_sha256: string
  created_at: CreatedAt
  updated_at: UpdatedAt
}
export type OpenRequest = Selectable<OpenRequestTable>
export type NewOpenRequest = Insertable<OpenRequestTable>

export interface OpenRequestReviewTable {
  open_request_id: string
  decision: 'approve' | 'reject'
  reason: string | null
  conditions: string | null
  valid_until: Day | null
  reviewer_sub: string
  reviewer_unit: string
  reviewed_at: CreatedAt
}
export type OpenRequestReview = Selectable<OpenRequestReviewTable>

// authorization: offboarding (migrations/0009)
export interface OffboardingTable {
  id: Generated<string>
  /** order of recording, for keyset pagination */
  seq: ColumnType<string, never, never>
  sub: string
  unit_code: string
  reason: string
  exit_audit: boolean
  offboarded_by: string
  offboarded_at: CreatedAt
  confidentiality_until: ColumnType<Date, Date | string, never>
  revoked_grants: ColumnType<string[], string[] | undefined, string[]>
  withdrawn_requests: ColumnType<string[], string[] | undefined, string[]>
  disabled_clients: ColumnType<string[], string[] | undefined, string[]>
}
export type Offboarding = Selectable<OffboardingTable>

// audit service: the blacklist (migrations/0008)
export type BlacklistKind = 'principal' | 'client' | 'ip'
export interface AuditBlacklistTable {
  id: Generated<string>
  seq: ColumnType<string, never, never>
  kind: BlacklistKind
  value: string
  unit: string | null
  reason: string
  expires_at: Date | null
  alert_id: number | null
  created_by: string
  created_at: CreatedAt
  lifted_at: Date | null
  lifted_by: string | null
  lift_reason: string | null
}
export type BlacklistEntry = Selectable<AuditBlacklistTable>

// gateway data path: cache versions and quota usage (migrations/0011)
export interface DataPathVersionTable {
  source: string
  version: ColumnType<string, never, string>
}
export interface GrantUsageTable {
  grant_id: string
  /** campus day, YYYY-MM-DD */
  day: string
  rows: ColumnType<string, number | string | undefined, number | string>
  updated_at: Generated<Date>
}

// catalog: the sweep that seals what is still clear and keeps masked forms current (migrations/0021)
export interface EncryptionSweepTable {
  dataset_code: string
  /** the encrypted fields every record was brought to */
  fields: string[]
  /** the rules' digest of the masked forms every record was brought to; null when none are kept */
  masked_digest: string | null
  /** records rewritten by the last sweep */
  records: ColumnType<string, number | string | undefined, number | string>
  swept_at: ColumnType<Date, Date | string | undefined, Date | string>
}

// catalog: encryption at rest (migrations/0014)
export interface MasterKeyTable {
  fingerprint: string
  check_value: Buffer
  created_at: CreatedAt
  retired_at: ColumnType<Date | null, never, Date | null>
}
export interface DataKeyTable {
  dataset_code: string
  suite: string
  wrapped: Buffer | null
  master_fingerprint: string | null
  created_at: CreatedAt
  rewrapped_at: ColumnType<Date | null, never, Date | null>
  destroyed_at: ColumnType<Date | null, never, Date | null>
  destroyed_by: ColumnType<string | null, never, string | null>
}

// gateway: exports and their decoy rows (migrations/0013)
export type ExportStatus = 'queued' | 'running' | 'done' | 'failed' | 'expired'
type BigCount = ColumnType<string, number | string | undefined, number | string>
export interface ExportTable {
  id: Generated<string>
  seq: ColumnType<string, never, never>
  grant_id: string
  dataset_code: string
  consumer_unit: string
  sub: string
  client: string | null
  fields: string[]
  filters: JsonColumn<Record<string, unknown>>
  filter_summary: JsonColumn<Record<string, string>>
  status: ColumnType<ExportStatus, ExportStatus | undefined, ExportStatus>
  rows_total: BigCount
  rows_written: BigCount
  decoys: ColumnType<number, number | undefined, number>
  quota_day: Day
  bytes: ColumnType<string | null, number | string | null | undefined, number | string | null>
  sha256: string | null
  file_name: string | null
  file_suite: string
  watermark_key_ref: string
  watermark_check: string
  heartbeat_at: ColumnType<Date, Date | string | undefined, Date | string>
  created_at: CreatedAt
  started_at: NullableTime
  finished_at: NullableTime
  expires_at: NullableTime
  error: string | null
}
export type ExportRow = Selectable<ExportTable>
export type NewExport = Insertable<ExportTable>
export interface ExportDecoyTable {
  export_id: string
  ordinal: number
  position: BigCount
  cells: JsonColumn<Record<string, { d: string, f: number, q: number }>>
}
export type ExportDecoy = Selectable<ExportDecoyTable>

// catalog: destructions and their certificates (migrations/0012)
export type DestructionScope = 'all' | 'filter' | 'expired'
export type DestructionStatus = 'pending_review' | 'approved' | 'witnessed' | 'rejected' | 'executed'
export interface DestructionTable {
  id: Generated<string>
  /** order of proposal, for keyset pagination */
  seq: ColumnType<string, never, never>
  dataset_code: string
  producer_unit: string
  scope: DestructionScope
  row_filter: ColumnType<Record<string, unknown> | null, string | null, string | null>
  cutoff: ColumnType<Date | null, Date | string | null, Date | string | null>
  reason: string
  rows_in_scope: number
  status: ColumnType<DestructionStatus, DestructionStatus | undefined, DestructionStatus>
  decision_reason: string | null
  proposed_by: string
  proposed_unit: string
  proposed_client: string | null
  proposed_at: CreatedAt
  witness_sub: string | null
  witness_unit: string | null
  witness_note: string | null
  witnessed_at: NullableTime
  executed_by: string | null
  executed_unit: string | null
  executed_at: NullableTime
  updated_at: UpdatedAt
}
export type Destruction = Selectable<DestructionTable>
export type NewDestruction = Insertable<DestructionTable>
export interface DestructionReviewTable {
  destruction_id: string
  party: 'producer' | 'office'
  decision: 'approve' | 'reject'
  reason: string | null
  reviewer_sub: string
  reviewer_unit: string
  reviewed_at: CreatedAt
}
export type DestructionReview = Selectable<DestructionReviewTable>
export interface DestructionCertificateTable {
  id: string
  destruction_id: string
  dataset_code: string
  content: JsonColumn<Record<string, unknown>>
  digest_sha256: string
  digest_sm3: string
  issued_at: CreatedAt
}
export type DestructionCertificateRow = Selectable<DestructionCertificateTable>

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
