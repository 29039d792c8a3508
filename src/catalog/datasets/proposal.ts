import type { Dataset, StoredField, StoredGradingProposal } from '../../db/database.js'
import { piFlags } from './grading.js'
import type { UpdateDataset } from './schemas.js'
import { attributeRank, gradeRank, nationalRank } from '../../platform/vocabulary.js'

/**
 * Which changes of a producer loosen protection (001 §8(1), §39: the office grades the catalog). On a
 * published dataset they wait for the office's grading review while the dataset is served under its
 * confirmed terms; changes that tighten protection, and those that touch no protection at all, take
 * effect at once. A change is judged by group, each group waiting or applying whole: the grade, the
 * national grade, the share attribute, the open attribute, the personal information (the fields
 * with their PI types, sensitivities and masking, and the PI flags) and the collection record.
 */
export type ProposalChanges = StoredGradingProposal['changes']
type Key = keyof ProposalChanges

const GROUPS: Record<string, readonly Key[]> = {
  grade: ['grade'],
  nationalGrade: ['nationalGrade'],
  shareAttribute: ['shareAttribute'],
  openAttribute: ['openAttribute'],
  personalInfo: ['fields', 'holdsPersonalInfo', 'sensitivePersonalInfo', 'childrenPersonalInfo'],
  collection: ['collection']
}

/** JSON with its object keys sorted: jsonb does not keep the order a client sent. */
function canonical (value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
    : v)
}

/** A new PI field, a field whose PI type or masking changes or whose sensitivity drops. */
function fieldsLoosen (before: readonly StoredField[], after: readonly StoredField[]): boolean {
  const old = new Map(before.map((f) => [f.name, f]))
  return after.some((f) => {
    const o = old.get(f.name)
    if (o === undefined) return f.piType !== null
    return f.piType !== o.piType || f.sensitivity < o.sensitivity || canonical(f.masking) !== canonical(o.masking)
  })
}

function loosens (group: string, row: Dataset, value: ProposalChanges): boolean {
  switch (group) {
    case 'grade': return gradeRank(value.grade!) < gradeRank(row.grade)
    case 'nationalGrade': return nationalRank(value.nationalGrade!) < nationalRank(row.national_grade)
    case 'shareAttribute': return attributeRank(value.shareAttribute!) < attributeRank(row.share_attribute)
    case 'openAttribute': return attributeRank(value.openAttribute!) < attributeRank(row.open_attribute)
    case 'personalInfo': {
      const fields = value.fields ?? row.fields
      const flags = piFlags(fields, {
        holds: value.holdsPersonalInfo ?? row.holds_pi, sensitive: value.sensitivePersonalInfo ?? row.sensitive_pi, children: value.childrenPersonalInfo ?? row.children_pi
      })
      return fieldsLoosen(row.fields, fields) || flags.holds !== row.holds_pi || flags.sensitive !== row.sensitive_pi || flags.children !== row.children_pi
    }
    default: return canonical(value.collection) !== canonical(row.collection)
  }
}

/**
 * Splits a producer's change of a published dataset: what takes effect at once, and the proposal
 * that waits for the office (the groups this change loosens, merged with what already waited). A
 * group this change touches replaces its waiting values: the latest word of the producer counts.
 */
export function splitChange (row: Dataset, changes: UpdateDataset, fields: StoredField[] | undefined): { immediate: UpdateDataset, pending: ProposalChanges | null } {
  const waiting = row.grading_proposal?.changes ?? {}
  const given: ProposalChanges = { ...changes, ...(fields !== undefined ? { fields } : {}) } as ProposalChanges
  const immediate: Record<string, unknown> = { ...changes }
  const pending: Record<string, unknown> = { ...waiting }
  for (const [group, keys] of Object.entries(GROUPS)) {
    if (!keys.some((k) => given[k] !== undefined)) continue
    const value: Record<string, unknown> = {}
    for (const k of keys) {
      const v = given[k] !== undefined ? given[k] : waiting[k]
      if (v !== undefined) value[k] = v
      delete pending[k]
      delete immediate[k]
    }
    Object.assign(loosens(group, row, value as ProposalChanges) ? pending : immediate, value)
  }
  return { immediate: immediate as UpdateDataset, pending: Object.keys(pending).length > 0 ? pending as ProposalChanges : null }
}

/** Whether `after` is looser than `before` in any group (a confirmed draft edited goes back to the office). */
export function loosened (before: Dataset, after: Dataset): boolean {
  const value: ProposalChanges = {
    grade: after.grade,
    nationalGrade: after.national_grade,
    shareAttribute: after.share_attribute,
    openAttribute: after.open_attribute,
    fields: after.fields,
    holdsPersonalInfo: after.holds_pi,
    sensitivePersonalInfo: after.sensitive_pi,
    childrenPersonalInfo: after.children_pi,
    collection: after.collection
  }
  return Object.keys(GROUPS).some((group) => loosens(group, before, value))
}
