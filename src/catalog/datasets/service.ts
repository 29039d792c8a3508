import type { Kysely, Transaction } from 'kysely'
import { domainEvents } from '../../platform/domain-events.js'
import type { Database, Dataset, GradingLevel, StoredField } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { AuthForbiddenError, ConflictError, FieldError } from '../../platform/errors.js'
import {
  DatasetExistsError, DatasetNotFoundError, DatasetStateError, GradingConflictError, GradingUnconfirmedError, NotProducerError, SubjectTakenError
} from '../errors.js'
import { canSee, isProducer } from './access.js'
import { visibleDataset } from './directory.js'
import {
  checkAgainstFloor, checkAttributes, checkKeys, checkRestriction, gradeFloor, normalizeFields, piFlags, type Floor
} from './grading.js'
import { loosened, splitChange } from './proposal.js'
import { createDatasetRepository, type DatasetChanges, type GradingLevelChange } from './repository.js'
import type { CreateDataset, UpdateDataset } from './schemas.js'
import { gradeRank, higherGrade, higherNationalGrade, nationalRank } from '../../platform/vocabulary.js'

type Trx = Transaction<Database>

const isSecurityAdmin = (p: Principal) => p.roles.includes('security_admin')

/** The events about a dataset: the code is its id and its dataset (open-reviews/routes.ts writes `dataset.open` with it). */
export const datasetEvent = domainEvents({ service: 'catalog', objectType: 'dataset', about: (code: string) => ({ id: code, dataset: code }) })
const gradingPolicyEvent = domainEvents({ service: 'catalog', objectType: 'grading_policy' })

function isUniqueViolation (err: unknown, constraint: string): boolean {
  const e = err as { code?: string, constraint?: string, message?: string }
  return e.code === '23505' && (e.constraint === constraint || (e.message ?? '').includes(constraint))
}

/** The catalog's rules around datasets: who may write, grading, one data one source, history, events. */
export function createDatasetService (db: Kysely<Database>) {
  const datasets = createDatasetRepository(db)

  async function loadSources (codes: readonly string[], self: string, trx: Trx): Promise<Dataset[]> {
    const rows = await datasets.findMany(codes, trx)
    codes.forEach((code, i) => {
      if (code === self) throw new FieldError(`sources.${i}`, 'a dataset cannot be derived from itself')
      if (!rows.some((r) => r.code === code)) throw new FieldError(`sources.${i}`, `no dataset with code ${code}`)
    })
    return rows
  }

  async function checkSubject (subject: string, self: string, trx: Trx) {
    const holder = await datasets.findBySubject(subject, trx)
    if (holder && holder.code !== self) throw new SubjectTakenError(subject, holder.code, holder.producer_unit)
  }

  /** A new version of the grade and attributes, with its history row and audit event. */
  async function regrade (trx: Trx, before: Dataset, changes: DatasetChanges, reason: string, actor: Principal, requestId: string) {
    const after = await datasets.update(before.code, { ...changes, grade_version: before.grade_version + 1 }, trx)
    await datasets.addGradeVersion(after, reason, actor.sub, trx)
    await datasetEvent(trx, { actor, requestId }, 'dataset.regrade', before.code, {
      version: after.grade_version,
      before: { grade: before.grade, nationalGrade: before.national_grade, shareAttribute: before.share_attribute, openAttribute: before.open_attribute },
      after: { grade: after.grade, nationalGrade: after.national_grade, shareAttribute: after.share_attribute, openAttribute: after.open_attribute },
      reason
    })
    return after
  }

  /**
   * Raises the datasets derived from `source` to at least its grade (R6.4), and theirs in turn. A
   * derived dataset that may then no longer keep its attributes stops the whole change.
   */
  async function raiseDerived (trx: Trx, source: Dataset, actor: Principal, requestId: string, depth = 0): Promise<string[]> {
    if (depth > 16) return []
    const raised: string[] = []
    for (const d of await datasets.derivedFrom(source.code, trx)) {
      if (d.status === 'destroyed' || (gradeRank(d.grade) >= gradeRank(source.grade) && nationalRank(d.national_grade) >= nationalRank(source.national_grade))) continue
      const grade = higherGrade(d.grade, source.grade)
      const nationalGrade = higherNationalGrade(d.national_grade, source.national_grade)
      try {
        checkAttributes({ grade, shareAttribute: d.share_attribute, openAttribute: d.open_attribute, pi: { holds: d.holds_pi, sensitive: d.sensitive_pi, children: d.children_pi } })
      } catch (err) {
        throw new GradingConflictError(`derived dataset ${d.code} would be graded ${grade}, which its ${(err as FieldError).field} does not allow; change it first`)
      }
      const after = await regrade(trx, d, { grade, national_grade: nationalGrade }, `raised to ${grade}: derived from ${source.code}, graded ${source.grade}`, actor, requestId)
      raised.push(d.code, ...await raiseDerived(trx, after, actor, requestId, depth + 1))
    }
    return raised
  }

  /** The row after `changes`, checked against the catalog's rules: grading floor, attributes, keys, subject. */
  async function resolve (trx: Trx, row: Dataset, changes: UpdateDataset) {
    const code = row.code
    const fields: StoredField[] = changes.fields ? normalizeFields(changes.fields) : row.fields
    const primaryKey = changes.primaryKey ?? row.primary_key
    const personKey = changes.personKey === undefined ? row.person_key : changes.personKey
    checkKeys(fields, primaryKey, personKey)
    if (changes.primaryKey && changes.primaryKey.join() !== row.primary_key.join() && await datasets.hasRecords(code, trx)) {
      throw new DatasetStateError(`the primary key of ${code} cannot change while records are stored`)
    }
    const sourceCodes = changes.sources ?? row.sources
    const sources = await loadSources(sourceCodes, code, trx)
    const floor: Floor = gradeFloor(fields, await datasets.gradingLevels(trx), sources)
    let grade = changes.grade ?? row.grade
    let nationalGrade = changes.nationalGrade ?? row.national_grade
    if (changes.grade === undefined) grade = higherGrade(grade, floor.grade)
    if (changes.nationalGrade === undefined) nationalGrade = higherNationalGrade(nationalGrade, floor.nationalGrade)
    checkAgainstFloor(grade, nationalGrade, floor)
    const pi = piFlags(fields, {
      holds: changes.holdsPersonalInfo ?? row.holds_pi,
      sensitive: changes.sensitivePersonalInfo ?? row.sensitive_pi,
      children: changes.childrenPersonalInfo ?? row.children_pi
    })
    const shareAttribute = changes.shareAttribute ?? row.share_attribute
    const openAttribute = changes.openAttribute ?? row.open_attribute
    checkAttributes({ grade, shareAttribute, openAttribute, pi })
    const restricted = changes.restricted ?? (grade === 'important' && row.metadata_restricted)
    checkRestriction(grade, restricted)
    if (changes.subject !== undefined) await checkSubject(changes.subject, code, trx)

    const plain: DatasetChanges = {
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      ...(changes.subject !== undefined ? { subject: changes.subject } : {}),
      ...(changes.category !== undefined ? { category: changes.category } : {}),
      ...(changes.personnelBasic !== undefined ? { personnel_basic: changes.personnelBasic } : {}),
      ...(changes.updateFrequency !== undefined ? { update_frequency: changes.updateFrequency } : {}),
      ...(changes.retentionDays !== undefined ? { retention_days: changes.retentionDays } : {}),
      ...(changes.fields !== undefined ? { fields } : {}),
      ...(changes.collection !== undefined ? { collection: changes.collection } : {}),
      primary_key: primaryKey,
      person_key: personKey,
      sources: sourceCodes,
      holds_pi: pi.holds,
      sensitive_pi: pi.sensitive,
      children_pi: pi.children,
      metadata_restricted: restricted
    }
    return { plain, grade, nationalGrade, shareAttribute, openAttribute, floor, fields }
  }

  async function apply (trx: Trx, row: Dataset, changes: UpdateDataset, actor: Principal, requestId: string): Promise<Dataset> {
    const { plain, grade, nationalGrade, shareAttribute, openAttribute, floor } = await resolve(trx, row, changes)
    let after = await datasets.update(row.code, plain, trx)
    await datasetEvent(trx, { actor, requestId }, 'dataset.update', row.code, { changed: Object.keys(changes).filter((k) => k !== 'reason') })
    const regraded = grade !== row.grade || nationalGrade !== row.national_grade ||
      shareAttribute !== row.share_attribute || openAttribute !== row.open_attribute
    if (regraded) {
      const automatic = changes.grade === undefined && grade !== row.grade
      const reason = changes.reason ?? (automatic ? `raised to ${grade} because ${floor.because}` : `changed by ${actor.sub}`)
      after = await regrade(trx, after, { grade, national_grade: nationalGrade, share_attribute: shareAttribute, open_attribute: openAttribute }, reason, actor, requestId)
      if (gradeRank(grade) > gradeRank(row.grade) || nationalRank(nationalGrade) > nationalRank(row.national_grade)) {
        await raiseDerived(trx, after, actor, requestId)
      }
    }
    return after
  }

  /**
   * A producer's change of a published dataset: what loosens protection waits for the office, the
   * rest takes effect at once. The whole proposal is checked now, so that the office reviews terms
   * the catalog's rules allow.
   */
  async function propose (trx: Trx, row: Dataset, changes: UpdateDataset, actor: Principal, requestId: string): Promise<Dataset> {
    const fields = changes.fields ? normalizeFields(changes.fields) : undefined
    const { immediate, pending } = splitChange(row, changes, fields)
    await resolve(trx, row, { ...immediate, ...(pending ?? {}) })
    const now = Object.keys(immediate).some((k) => k !== 'reason')
    const after = now ? await apply(trx, row, immediate, actor, requestId) : row
    const waited = row.grading_proposal !== null
    if (pending === null) return waited ? await datasets.update(row.code, { grading_proposal: null, grading_status: 'confirmed' }, trx) : after
    const proposal = { changes: pending, proposedBy: actor.sub, proposedAt: new Date().toISOString(), reason: changes.reason ?? null }
    await datasetEvent(trx, { actor, requestId }, 'dataset.grading.propose', row.code, { proposed: Object.keys(pending), reason: proposal.reason })
    return await datasets.update(row.code, { grading_proposal: proposal, grading_status: 'proposed' }, trx)
  }

  return {
    /** The dataset as this caller may see it; 404 when unknown or a draft of another unit. */
    async visible (code: string, actor: Principal): Promise<Dataset> {
      return await visibleDataset(datasets, code, actor)
    },

    async create (input: CreateDataset, actor: Principal, requestId: string): Promise<Dataset> {
      const producer = input.producerUnit ?? actor.unit
      if (!isSecurityAdmin(actor) && producer !== actor.unit) {
        throw new NotProducerError(`a steward registers datasets of its own unit (${actor.unit}) only`)
      }
      if (input.restricted !== undefined && !isSecurityAdmin(actor)) {
        throw new AuthForbiddenError('restricted is set by the data-management office (security_admin)')
      }
      const fields = normalizeFields(input.fields)
      const personKey = input.personKey ?? null
      checkKeys(fields, input.primaryKey, personKey)
      return await db.transaction().execute(async (trx) => {
        if (!(await trx.selectFrom('units').select('code').where('code', '=', producer).executeTakeFirst())) {
          throw new FieldError('producerUnit', `no unit with code ${producer}`)
        }
        if (await datasets.find(input.code, trx)) throw new DatasetExistsError(input.code)
        const sources = await loadSources(input.sources ?? [], input.code, trx)
        const floor = gradeFloor(fields, await datasets.gradingLevels(trx), sources)
        const grade = input.grade ?? floor.grade
        const nationalGrade = input.nationalGrade ?? floor.nationalGrade
        checkAgainstFloor(grade, nationalGrade, floor)
        const pi = piFlags(fields, { holds: input.holdsPersonalInfo, sensitive: input.sensitivePersonalInfo, children: input.childrenPersonalInfo })
        checkAttributes({ grade, shareAttribute: input.shareAttribute, openAttribute: input.openAttribute, pi })
        checkRestriction(grade, input.restricted ?? false)
        await checkSubject(input.subject, input.code, trx)
        let row: Dataset
        try {
          row = await datasets.insert({
            code: input.code,
            name: input.name,
            description: input.description ?? null,
            producer_unit: producer,
            subject: input.subject,
            category: input.category,
            grade,
            national_grade: nationalGrade,
            share_attribute: input.shareAttribute,
            open_attribute: input.openAttribute,
            personnel_basic: input.personnelBasic ?? false,
            update_frequency: input.updateFrequency,
            retention_days: input.retentionDays,
            holds_pi: pi.holds,
            sensitive_pi: pi.sensitive,
            children_pi: pi.children,
            primary_key: input.primaryKey,
            person_key: personKey,
            fields,
            sources: input.sources ?? [],
            metadata_restricted: input.restricted ?? false,
            collection: input.collection ?? null,
            grading_status: 'proposed',
            status: 'draft',
            created_by: actor.sub,
            published_at: null
          }, trx)
        } catch (err) {
          // a concurrent registration of the same code or subject
          if (isUniqueViolation(err, 'datasets_pkey')) throw new DatasetExistsError(input.code)
          if (isUniqueViolation(err, 'datasets_subject_key')) throw new ConflictError(`the subject "${input.subject}" was claimed by another dataset meanwhile (one data, one source)`)
          throw err
        }
        await datasets.addGradeVersion(row, input.grade ? 'registered' : `registered; ${floor.because}`, actor.sub, trx)
        await datasetEvent(trx, { actor, requestId }, 'dataset.create', row.code, {
          producerUnit: producer, grade, nationalGrade, shareAttribute: row.share_attribute, openAttribute: row.open_attribute, fields: fields.length
        })
        return row
      })
    },

    async update (code: string, changes: UpdateDataset, actor: Principal, requestId: string): Promise<Dataset> {
      return await db.transaction().execute(async (trx) => {
        const row = await datasets.findForUpdate(code, trx)
        if (!row || !canSee(actor, row)) throw new DatasetNotFoundError(code)
        if (!isProducer(actor, row) && !isSecurityAdmin(actor)) throw new NotProducerError(`only the producer unit ${row.producer_unit} or the data-management office edits ${code}`)
        if (row.status === 'retired' || row.status === 'destroyed') throw new DatasetStateError(`dataset ${code} is ${row.status} and can no longer be changed`)
        // the office decides: its own edits take effect at once
        if (isSecurityAdmin(actor)) return await apply(trx, row, changes, actor, requestId)
        if (changes.restricted !== undefined) throw new AuthForbiddenError('restricted is set by the data-management office (security_admin)')
        if (row.status === 'draft') {
          // a draft is served to nobody: it changes at once, and goes back to the office when a
          // confirmed draft is loosened or a rejected one is edited (resubmitted)
          const after = await apply(trx, row, changes, actor, requestId)
          const resubmit = row.grading_status === 'rejected' || (row.grading_status === 'confirmed' && loosened(row, after))
          return resubmit ? await datasets.update(code, { grading_status: 'proposed' }, trx) : after
        }
        return await propose(trx, row, changes, actor, requestId)
      })
    },

    /** The office's changes, or a confirmed proposal: checked against the catalog's rules and written. */
    apply,

    async publish (code: string, actor: Principal, requestId: string): Promise<Dataset> {
      return await db.transaction().execute(async (trx) => {
        const row = await datasets.findForUpdate(code, trx)
        if (!row || !canSee(actor, row)) throw new DatasetNotFoundError(code)
        if (!isProducer(actor, row) && !isSecurityAdmin(actor)) throw new NotProducerError(`only the producer unit ${row.producer_unit} or the data-management office publishes ${code}`)
        if (row.status !== 'draft') throw new DatasetStateError(`dataset ${code} is ${row.status}; only a draft can be published`)
        if (row.grading_status !== 'confirmed') throw new GradingUnconfirmedError(code)
        const after = await datasets.update(code, { status: 'published', published_at: new Date() }, trx)
        await datasetEvent(trx, { actor, requestId }, 'dataset.publish', code, { grade: after.grade, shareAttribute: after.share_attribute })
        return after
      })
    },

    /** After the grading policy changed: raises every live dataset below its new floor, or refuses. */
    async applyPolicy (trx: Trx, actor: Principal, requestId: string): Promise<string[]> {
      const levels = await datasets.gradingLevels(trx)
      const live = await trx.selectFrom('datasets').selectAll().where('status', 'in', ['draft', 'published']).orderBy('code').forUpdate().execute()
      const conflicts: string[] = []
      const raised: string[] = []
      for (const d of live) {
        const floor = gradeFloor(d.fields, levels, [])
        const grade = higherGrade(d.grade, floor.grade)
        const nationalGrade = higherNationalGrade(d.national_grade, floor.nationalGrade)
        if (grade === d.grade && nationalGrade === d.national_grade) continue
        try {
          checkAttributes({ grade, shareAttribute: d.share_attribute, openAttribute: d.open_attribute, pi: { holds: d.holds_pi, sensitive: d.sensitive_pi, children: d.children_pi } })
        } catch (err) {
          conflicts.push(`${d.code} (${(err as FieldError).field})`)
          continue
        }
        const after = await regrade(trx, d, { grade, national_grade: nationalGrade }, `raised to ${grade} by the grading policy: ${floor.because}`, actor, requestId)
        raised.push(d.code, ...await raiseDerived(trx, after, actor, requestId))
      }
      if (conflicts.length > 0) {
        throw new GradingConflictError(`the policy would raise datasets whose attributes then break the rules: ${conflicts.join(', ')}; change their attributes first`)
      }
      return [...new Set(raised)].sort()
    },

    /**
     * The office's grading policy set, in one transaction: the levels stored, every live dataset
     * below its new floor raised (or nothing changes and a 409 names them), and the event.
     */
    async setGradingPolicy (levels: GradingLevelChange[], reason: string | null, actor: Principal, requestId: string): Promise<{ levels: GradingLevel[], regraded: string[] }> {
      return await db.transaction().execute(async (trx) => {
        for (const l of levels) await datasets.setGradingLevel(l, actor.sub, trx)
        const regraded = await this.applyPolicy(trx, actor, requestId)
        await gradingPolicyEvent(trx, { actor, requestId }, 'grading-policy.update', 'current', { levels, regraded, reason })
        return { levels: await datasets.gradingLevels(trx), regraded }
      })
    }
  }
}

export type DatasetService = ReturnType<typeof createDatasetService>
