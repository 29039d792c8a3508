import type { BusinessSystem } from '../../db/database.js'
import { FieldError } from '../../platform/errors.js'
import { LIVE_STATUSES, toSystemView, type DatasetState } from './repository.js'
import type { ConsistencyReport } from './schemas.js'

/**
 * What the asset registry holds true (R2.9): a system feeds live datasets of its own unit, since a
 * unit's systems are the authoritative source of what that unit produces.
 */
export function checkFeeds (unit: string, codes: readonly string[], found: readonly DatasetState[]): void {
  const byCode = new Map(found.map((d) => [d.code, d]))
  codes.forEach((code, i) => {
    const dataset = byCode.get(code)
    // another unit's dataset reads as absent: the message reveals nothing of other units' catalog
    if (!dataset || dataset.producer_unit !== unit) {
      throw new FieldError(`datasets.${i}`, `no dataset of unit ${unit} has the code ${code}`)
    }
    if (!LIVE_STATUSES.includes(dataset.status)) {
      throw new FieldError(`datasets.${i}`, `dataset ${code} is ${dataset.status}; a system feeds draft or published datasets only`)
    }
  })
}

type Reason = ConsistencyReport['unknownDatasets'][number]['reason']

function reasonOf (system: BusinessSystem, dataset: DatasetState | undefined): Reason | null {
  if (!dataset) return 'not_found'
  if (dataset.producer_unit !== system.unit_code) return 'other_producer'
  if (dataset.status === 'retired' || dataset.status === 'destroyed') return dataset.status
  return null
}

export interface ReportInput {
  unit: string | null
  reviewDays: number
  now: Date
  systems: readonly BusinessSystem[]
  /** the datasets the systems list, as the catalog has them now */
  listed: readonly DatasetState[]
  unfed: readonly DatasetState[]
}

/** The periodic consistency check of the registry against the catalog. */
export function consistencyReport ({ unit, reviewDays, now, systems, listed, unfed }: ReportInput): ConsistencyReport {
  const byCode = new Map(listed.map((d) => [d.code, d]))
  const views = systems.map((s) => toSystemView(s, reviewDays, now))
  const unknownDatasets: ConsistencyReport['unknownDatasets'] = []
  const systemsFeedingNothing: ConsistencyReport['systemsFeedingNothing'] = []
  systems.forEach((system, i) => {
    let feeds = 0
    for (const code of system.datasets) {
      const reason = reasonOf(system, byCode.get(code))
      if (reason === null) feeds++
      else unknownDatasets.push({ system: { id: system.id, unit: system.unit_code, name: system.name }, dataset: code, reason })
    }
    if (feeds === 0) systemsFeedingNothing.push(views[i]!)
  })
  const report = {
    checkedAt: now.toISOString(),
    unit,
    reviewPeriodDays: reviewDays,
    datasetsWithoutSystem: unfed.map((d) => ({ code: d.code, name: d.name, producerUnit: d.producer_unit, status: d.status })),
    systemsFeedingNothing,
    unconfirmed: views.filter((v) => v.overdue),
    unknownDatasets
  }
  const ok = [report.datasetsWithoutSystem, systemsFeedingNothing, report.unconfirmed, unknownDatasets].every((list) => list.length === 0)
  return { ...report, ok }
}
