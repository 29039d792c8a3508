import { sql, type Kysely, type Transaction } from 'kysely'
import { containsPattern } from '../../platform/like.js'
import type { Attribute, Category, Grade, NationalGrade, Status } from '../../platform/vocabulary.js'
import type { Database, Dataset, GradingLevel, NewDataset, StoredCollection, StoredField, StoredGradingProposal } from '../../db/database.js'
import type { DatasetView } from './schemas.js'

type Db = Kysely<Database> | Transaction<Database>

/**
 * The API shape of a dataset; `fieldsHidden` withholds the field list (metadata access control, R2.8),
 * `proposal` shows the changes waiting for the office (to the producer unit and the office).
 */
export function toDatasetView (row: Dataset, { fieldsHidden = false, proposal = true } = {}): DatasetView {
  return {
    code: row.code,
    name: row.name,
    description: row.description,
    producerUnit: row.producer_unit,
    subject: row.subject,
    category: row.category,
    grade: row.grade,
    nationalGrade: row.national_grade,
    gradeVersion: row.grade_version,
    shareAttribute: row.share_attribute,
    openAttribute: row.open_attribute,
    personnelBasic: row.personnel_basic,
    updateFrequency: row.update_frequency,
    retentionDays: row.retention_days,
    primaryKey: row.primary_key,
    personKey: row.person_key,
    holdsPersonalInfo: row.holds_pi,
    sensitivePersonalInfo: row.sensitive_pi,
    childrenPersonalInfo: row.children_pi,
    sources: row.sources,
    restricted: row.metadata_restricted,
    fieldsHidden,
    status: row.status,
    collection: row.collection,
    grading: {
      status: row.grading_status,
      decidedBy: row.grading_decided_by,
      decidedAt: row.grading_decided_at?.toISOString() ?? null,
      reason: row.grading_reason,
      proposal: proposal && !fieldsHidden ? row.grading_proposal : null
    },
    fields: fieldsHidden ? [] : row.fields,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    publishedAt: row.published_at?.toISOString() ?? null
  }
}

export interface DatasetFilter {
  limit: number
  after?: string
  q?: string
  category?: Category
  grade?: Grade
  shareAttribute?: Attribute
  openAttribute?: Attribute
  producer?: string
  status?: Status
  /** a caller outside the office sees drafts of this unit only */
  draftsOf?: string | 'all'
}

/** What a dataset row may be written with: the JSON columns as the API gives them. */
export type DatasetValues = Omit<NewDataset, 'fields' | 'collection' | 'grading_proposal'> & {
  fields: StoredField[]
  collection?: StoredCollection | null
  grading_proposal?: StoredGradingProposal | null
}
export type DatasetChanges = Partial<Omit<DatasetValues, 'code' | 'created_by' | 'created_at'>>

/** A write without its JSON columns. */
function plain<T extends DatasetChanges> ({ fields, collection, grading_proposal: proposal, ...rest }: T) {
  return rest
}

/** The JSON columns of a write, serialised (those the write names). */
function json (values: DatasetChanges) {
  return {
    ...(values.fields !== undefined ? { fields: JSON.stringify(values.fields) } : {}),
    ...(values.collection !== undefined ? { collection: values.collection === null ? null : JSON.stringify(values.collection) } : {}),
    ...(values.grading_proposal !== undefined ? { grading_proposal: values.grading_proposal === null ? null : JSON.stringify(values.grading_proposal) } : {})
  }
}

export function createDatasetRepository (db: Kysely<Database>) {
  return {
    async find (code: string, trx: Db = db): Promise<Dataset | null> {
      return await trx.selectFrom('datasets').selectAll().where('code', '=', code).executeTakeFirst() ?? null
    },

    /** The row, locked for the rest of the transaction (changes to one dataset are serialised). */
    async findForUpdate (code: string, trx: Transaction<Database>): Promise<Dataset | null> {
      return await trx.selectFrom('datasets').selectAll().where('code', '=', code).forUpdate().executeTakeFirst() ?? null
    },

    async findMany (codes: readonly string[], trx: Db = db): Promise<Dataset[]> {
      if (codes.length === 0) return []
      return await trx.selectFrom('datasets').selectAll().where('code', 'in', codes).execute()
    },

    /** The live dataset (draft or published) that claims this subject, if any. */
    async findBySubject (subject: string, trx: Db = db): Promise<Dataset | null> {
      return await trx.selectFrom('datasets').selectAll()
        .where(sql<string>`lower(subject)`, '=', subject.toLowerCase())
        .where('status', 'in', ['draft', 'published'])
        .executeTakeFirst() ?? null
    },

    /** Datasets that declare `code` among their sources. */
    async derivedFrom (code: string, trx: Db = db): Promise<Dataset[]> {
      return await trx.selectFrom('datasets').selectAll().where(sql<boolean>`${code} = any(sources)`).orderBy('code').execute()
    },

    async list (filter: DatasetFilter, trx: Db = db): Promise<Dataset[]> {
      let query = trx.selectFrom('datasets').selectAll().orderBy('code').limit(filter.limit)
      if (filter.after !== undefined) query = query.where('code', '>', filter.after)
      if (filter.q !== undefined) {
        const pattern = containsPattern(filter.q)
        query = query.where((eb) => eb.or([
          eb('code', 'ilike', pattern), eb('name', 'ilike', pattern), eb('subject', 'ilike', pattern), eb('description', 'ilike', pattern)
        ]))
      }
      if (filter.category !== undefined) query = query.where('category', '=', filter.category)
      if (filter.grade !== undefined) query = query.where('grade', '=', filter.grade)
      if (filter.shareAttribute !== undefined) query = query.where('share_attribute', '=', filter.shareAttribute)
      if (filter.openAttribute !== undefined) query = query.where('open_attribute', '=', filter.openAttribute)
      if (filter.producer !== undefined) query = query.where('producer_unit', '=', filter.producer)
      if (filter.status !== undefined) query = query.where('status', '=', filter.status)
      const draftsOf = filter.draftsOf
      if (draftsOf !== undefined && draftsOf !== 'all') {
        query = query.where((eb) => eb.or([eb('status', '<>', 'draft'), eb('producer_unit', '=', draftsOf)]))
      }
      return await query.execute()
    },

    async insert (values: DatasetValues, trx: Db = db): Promise<Dataset> {
      return await trx.insertInto('datasets')
        .values({ ...plain(values), fields: JSON.stringify(values.fields), ...json(values) })
        .returningAll()
        .executeTakeFirstOrThrow()
    },

    async update (code: string, changes: DatasetChanges, trx: Db = db): Promise<Dataset> {
      return await trx.updateTable('datasets')
        .set({ ...plain(changes), ...json(changes), updated_at: new Date() })
        .where('code', '=', code)
        .returningAll()
        .executeTakeFirstOrThrow()
    },

    /** Records a version of the grade and attributes. */
    async addGradeVersion (row: Dataset, reason: string, changedBy: string, trx: Db = db): Promise<void> {
      await trx.insertInto('dataset_grade_history').values({
        dataset_code: row.code,
        version: row.grade_version,
        grade: row.grade,
        national_grade: row.national_grade,
        share_attribute: row.share_attribute,
        open_attribute: row.open_attribute,
        reason,
        changed_by: changedBy
      }).execute()
    },

    async gradeHistory (code: string, { limit, before }: { limit: number, before?: number }, trx: Db = db) {
      let query = trx.selectFrom('dataset_grade_history').selectAll().where('dataset_code', '=', code).orderBy('version', 'desc').limit(limit)
      if (before !== undefined) query = query.where('version', '<', before)
      return await query.execute()
    },

    /** True when any record of the dataset is stored. */
    async hasRecords (code: string, trx: Db = db): Promise<boolean> {
      const row = await trx.selectFrom('records').select('record_key').where('dataset_code', '=', code).limit(1).executeTakeFirst()
      return row !== undefined
    },

    async gradingLevels (trx: Db = db): Promise<GradingLevel[]> {
      return await trx.selectFrom('grading_levels').selectAll().orderBy('sensitivity').execute()
    },

    /** The fields marked to be stored encrypted (the dataset's version and update time stay as they are). */
    async setEncryptedFields (code: string, fields: string[], trx: Db): Promise<void> {
      await trx.updateTable('datasets').set({ encrypted_fields: fields }).where('code', '=', code).execute()
    },

    async setGradingLevel (l: GradingLevelChange, by: string, trx: Db): Promise<void> {
      await trx.updateTable('grading_levels')
        .set({ minimum_grade: l.minimumGrade, national_grade: l.nationalGrade, label: l.label, updated_by: by, updated_at: new Date() })
        .where('sensitivity', '=', l.sensitivity)
        .execute()
    }
  }
}

export type DatasetRepository = ReturnType<typeof createDatasetRepository>

/** One sensitivity level of the grading policy as the office sets it. */
export interface GradingLevelChange { sensitivity: number, minimumGrade: Grade, nationalGrade: NationalGrade, label: string }
