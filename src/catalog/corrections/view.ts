import type { Kysely } from 'kysely'
import type { Database, Dataset } from '../../db/database.js'
import type { MaskingKey } from '../../masking/index.js'
import { compilePolicy, effectiveRule, type PolicyProfiles } from '../../masking/index.js'
import { createPolicyRepository } from '../../masking/index.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { isOffice } from '../../platform/auth/roles.js'
import { keyPath } from '../records/validate.js'
import type { Encryption } from '../encryption/plugin.js'
import { openedProposal } from './proposal.js'
import type { CorrectionView } from './schemas.js'
import type { RecordCorrection } from './table.js'

/** Whether the caller sees every correction of the dataset: the producer unit's stewards and the office. */
export function seesAll (principal: Principal, dataset: Pick<Dataset, 'producer_unit'>): boolean {
  return isOffice(principal) || (principal.roles.includes('steward') && principal.unit === dataset.producer_unit)
}

/** Whether the caller sees this correction at all (others' are 404). */
export function canSeeCorrection (principal: Principal, dataset: Pick<Dataset, 'producer_unit'>, row: Pick<RecordCorrection, 'reporter_unit'>): boolean {
  return seesAll(principal, dataset) || principal.unit === row.reporter_unit
}

/**
 * The proposed value as the caller may see it. The reporting unit sees what it proposed; the
 * producer unit's stewards, who hold the record and must decide and make the correction, see it
 * too; everyone else (the office, auditors) under the dataset's `display` masking, as a masked
 * grant would show the field: `138****5678`, or nothing where the policy redacts it.
 */
async function proposalFor (principal: Principal, dataset: Dataset, row: RecordCorrection, ctx: ViewContext, profilesOf: () => Promise<PolicyProfiles>) {
  const opened = await openedProposal(ctx.encryption, row)
  if (opened === 'absent') return { proposedValueMasked: false }
  if (opened === 'unreadable') return { proposedValueMasked: true }
  const clear = principal.unit === row.reporter_unit || (principal.roles.includes('steward') && principal.unit === dataset.producer_unit)
  const field = dataset.fields.find((f) => f.name === row.field)
  if (clear && field) return { proposedValue: opened.value as string | number | boolean, proposedValueMasked: false }
  if (!field) return { proposedValueMasked: true } // the field was removed since: nothing says how to show it
  const profiles = await profilesOf()
  const masking = { key: ctx.key, scope: `correction:${principal.unit}`, today: new Date() }
  const masked = compilePolicy([field], profiles, 'display', masking)({ [field.name]: opened.value })
  const strategy = effectiveRule(field, profiles, 'display', masking).rule.strategy
  return Object.hasOwn(masked, field.name)
    ? { proposedValue: masked[field.name] as string | number | boolean | null, proposedValueMasked: strategy !== 'keep' }
    : { proposedValueMasked: true }
}

export interface ViewContext {
  db: Kysely<Database>
  encryption: Encryption
  key: MaskingKey
}

/** The record key as the API addresses it: a composite key's values URL-encoded, joined by ",". */
const keyOf = (row: RecordCorrection, dataset: Dataset) =>
  dataset.primary_key.length > 1 ? keyPath(JSON.parse(row.record_key) as string[]) : row.record_key

/** The API shape of the dataset's corrections, for this caller (the masking policy read once, when first needed). */
export function correctionViewer (dataset: Dataset, principal: Principal, ctx: ViewContext, now = new Date()) {
  let profiles: Promise<PolicyProfiles> | undefined
  const profilesOf = async () => await (profiles ??= createPolicyRepository(ctx.db).find(dataset.code).then((p) => p?.profiles ?? {}))
  return async (row: RecordCorrection): Promise<CorrectionView> => ({
    id: row.id,
    dataset: row.dataset_code,
    recordKey: keyOf(row, dataset),
    field: row.field,
    description: row.description,
    ...await proposalFor(principal, dataset, row, ctx, profilesOf),
    status: row.status,
    reporterUnit: row.reporter_unit,
    reportedBy: row.reporter_sub,
    onBehalf: row.on_behalf,
    reportedAt: row.reported_at.toISOString(),
    dueAt: row.due_at.toISOString(),
    overdue: (row.status === 'open' || row.status === 'accepted') && row.due_at < now,
    decision: row.decided_at && row.decided_by && row.decision_reason !== null
      ? { decision: row.status === 'rejected' ? 'reject' : 'accept', reason: row.decision_reason, by: row.decided_by, at: row.decided_at.toISOString() }
      : null,
    resolvedByBatch: row.resolved_by_batch,
    resolvedAt: row.resolved_at?.toISOString() ?? null
  })
}
