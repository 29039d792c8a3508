import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { CreatedAt, UpdatedAt } from '../../db/columns.js'
import type {
  Attribute, Category, CollectionFrequency, CollectionMethod, FieldFormat, Frequency, Grade, GradingStatus, NationalGrade, PiType, Status
} from '../../platform/vocabulary.js'

export interface GradingLevelTable {
  sensitivity: number
  minimum_grade: Grade
  national_grade: NationalGrade
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
  piType: PiType | null
  sensitivity: number
  description: string | null
  format: FieldFormat | null
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
  category: Category
  grade: Grade
  national_grade: NationalGrade
  share_attribute: Attribute
  open_attribute: Attribute
  personnel_basic: boolean
  update_frequency: Frequency
  retention_days: number
  holds_pi: boolean
  sensitive_pi: boolean
  children_pi: boolean
  primary_key: string[]
  person_key: string | null
  fields: ColumnType<StoredField[], string, string>
  sources: string[]
  metadata_restricted: boolean
  status: Status
  grade_version: Generated<number>
  created_by: string
  created_at: CreatedAt
  updated_at: UpdatedAt
  published_at: Date | null
  /** fields of an important dataset the office marked for encryption at rest (migrations/0014) */
  encrypted_fields: ColumnType<string[], string[] | undefined, string[]>
  /** the office's decision on the grading (migrations/0016): proposed, confirmed, rejected */
  grading_status: ColumnType<GradingStatus, GradingStatus | undefined, GradingStatus>
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
  method?: CollectionMethod
  channel?: string
  scope?: string
  volume?: string
  frequency?: CollectionFrequency
  legalBasis?: string
  rules?: string
  riskAssessment?: StoredReference
  necessityAssessment?: StoredReference | string
  collectiveDecision?: StoredReference | string
}

/** Changes of a published dataset that wait for the office, as stored in `datasets.grading_proposal`. */
export interface StoredGradingProposal {
  changes: {
    grade?: Grade
    nationalGrade?: NationalGrade
    shareAttribute?: Attribute
    openAttribute?: Attribute
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
  grade: Grade
  national_grade: NationalGrade
  share_attribute: Attribute
  open_attribute: Attribute
  reason: string
  changed_by: string
  changed_at: CreatedAt
}
