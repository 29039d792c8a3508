import type { StoredField } from '../../db/database.js'
import { FRESHNESS_DAYS, type Frequency } from '../../platform/vocabulary.js'
import type { Anomaly, Counts, Freshness, PersonScale, QualityReport, RetentionStatus } from './schemas.js'

const DAY_MS = 86_400_000

/** R9.4 (001 §50, 003 3(2)): persons held at which each duty starts. */
export interface ScaleThresholds {
  /** a named protection officer and registration with the authority */
  protectionOfficer: number
  /** protection level 3 and a yearly audit */
  protectionLevel3: number
}
export const SCALE_THRESHOLDS: ScaleThresholds = { protectionOfficer: 200_000, protectionLevel3: 1_000_000 }

export interface ReportOptions {
  now: Date
  thresholds?: ScaleThresholds
  /** a batch rejecting more than this share of what it received is an anomaly */
  rejectionRateLimit?: number
  /** days of the validity window, today included */
  windowDays?: number
}
export const REJECTION_RATE_LIMIT = 0.1
export const WINDOW_DAYS = 30

/** Completeness is computed exactly up to this many rows; above it, over a sample (`samplePercent`). */
export const AUTO_SAMPLE_ABOVE_ROWS = 1_000_000
/** The rows an automatic sample aims at: ±0.3 % (95 %) for independent rows; whole-page sampling widens it. */
export const SAMPLE_TARGET_ROWS = 100_000

/** How completeness is computed: exactly, or over a TABLESAMPLE of the given percentage. */
export function samplingPlan (rows: number, requested?: number): number | null {
  if (requested !== undefined) return requested >= 100 ? null : requested
  if (rows <= AUTO_SAMPLE_ABOVE_ROWS) return null
  return Math.max(0.01, Math.round(10_000 * SAMPLE_TARGET_ROWS / rows) / 100)
}

/** The start of the validity window: UTC midnight `days - 1` days before `now`. */
export function windowStart (now: Date, days = WINDOW_DAYS): Date {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  return new Date(midnight - (days - 1) * DAY_MS)
}

export function retentionCutoff (now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * DAY_MS)
}

export function scaleFlags (persons: number | null, thresholds: ScaleThresholds = SCALE_THRESHOLDS): PersonScale['flags'] {
  const n = persons ?? 0
  return {
    protectionOfficerRequired: n >= thresholds.protectionOfficer,
    registrationRequired: n >= thresholds.protectionOfficer,
    protectionLevel3Required: n >= thresholds.protectionLevel3,
    yearlyAuditRequired: n >= thresholds.protectionLevel3
  }
}

/** Stale when the last accepted ingest is older than the frequency allows; never for on_demand. */
export function freshness (updateFrequency: Frequency, lastIngestAt: Date | null, now: Date): Freshness {
  const maxAgeDays = FRESHNESS_DAYS[updateFrequency] ?? null
  const ageMs = lastIngestAt === null ? null : now.getTime() - lastIngestAt.getTime()
  const stale = maxAgeDays !== null && (ageMs === null || ageMs > maxAgeDays * DAY_MS)
  return {
    updateFrequency,
    maxAgeDays,
    lastIngestAt: lastIngestAt?.toISOString() ?? null,
    ageDays: ageMs === null ? null : Math.round(ageMs / DAY_MS * 100) / 100,
    stale,
    staleSince: stale && lastIngestAt !== null ? new Date(lastIngestAt.getTime() + maxAgeDays! * DAY_MS).toISOString() : null
  }
}

export function withRate (c: Omit<Counts, 'rejectionRate'>): Counts {
  return { ...c, rejectionRate: c.received > 0 ? c.rejected / c.received : null }
}

export interface RetentionInput { retentionDays: number, expiredRows: number, oldestCreatedAt: Date | null }

export function retentionStatus ({ retentionDays, expiredRows, oldestCreatedAt }: RetentionInput, now: Date): RetentionStatus {
  return {
    retentionDays,
    cutoff: retentionCutoff(now, retentionDays).toISOString(),
    expiredRows,
    oldestCreatedAt: oldestCreatedAt?.toISOString() ?? null,
    oldestExpiresAt: oldestCreatedAt === null ? null : new Date(oldestCreatedAt.getTime() + retentionDays * DAY_MS).toISOString()
  }
}

/** What the repository measured, in one snapshot. */
export interface QualityFacts {
  dataset: { code: string, fields: StoredField[], updateFrequency: Frequency, retentionDays: number, personKey: string | null, holdsPersonalInfo: boolean }
  rows: number
  rowsWithPersonKey: number
  persons: number
  expiredRows: number
  oldestCreatedAt: Date | null
  completeness: { samplePercent: number | null, basisRows: number, filled: number[] }
  allTime: Omit<Counts, 'rejectionRate'>
  window: Omit<Counts, 'rejectionRate'>
  lastIngestAt: Date | null
  daily: (Omit<Counts, 'rejectionRate'> & { day: string })[]
  topRejectedFields: { field: string, errors: number }[]
  rejectedBatches: { id: string, at: Date, received: number, rejected: number }[]
}

export function buildQualityReport (facts: QualityFacts, options: ReportOptions): QualityReport {
  const { now } = options
  const thresholds = options.thresholds ?? SCALE_THRESHOLDS
  const { dataset, completeness: c } = facts
  const fields = dataset.fields.map((f, i) => {
    const filled = c.filled[i] ?? 0
    return { field: f.name, required: f.required, filled, ratio: c.basisRows > 0 ? filled / c.basisRows : null }
  })
  const cells = c.basisRows * fields.length
  const report: QualityReport = {
    dataset: dataset.code,
    generatedAt: now.toISOString(),
    rows: facts.rows,
    completeness: {
      method: c.samplePercent === null ? 'exact' : 'sample',
      samplePercent: c.samplePercent,
      basisRows: c.basisRows,
      overall: cells > 0 ? fields.reduce((sum, f) => sum + f.filled, 0) / cells : null,
      fields
    },
    validity: {
      windowDays: options.windowDays ?? WINDOW_DAYS,
      since: windowStart(now, options.windowDays).toISOString(),
      allTime: withRate(facts.allTime),
      window: withRate(facts.window),
      daily: facts.daily.map(({ day, ...counts }) => ({ day, ...withRate(counts) })),
      topRejectedFields: facts.topRejectedFields
    },
    freshness: freshness(dataset.updateFrequency, facts.lastIngestAt, now),
    persons: {
      personKey: dataset.personKey,
      count: dataset.personKey === null ? null : facts.persons,
      rowsWithoutPersonKey: dataset.personKey === null ? null : facts.rows - facts.rowsWithPersonKey,
      flags: scaleFlags(dataset.personKey === null ? null : facts.persons, thresholds),
      thresholds
    },
    retention: retentionStatus({ retentionDays: dataset.retentionDays, expiredRows: facts.expiredRows, oldestCreatedAt: facts.oldestCreatedAt }, now),
    anomalies: []
  }
  report.anomalies = anomalies(facts, report, options.rejectionRateLimit ?? REJECTION_RATE_LIMIT)
  return report
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`

/** Problems a steward should act on, newest first. */
export function anomalies (facts: QualityFacts, report: QualityReport, rejectionRateLimit: number): Anomaly[] {
  const found: Anomaly[] = []
  const now = report.generatedAt
  for (const b of facts.rejectedBatches) {
    if (b.received > 0 && b.rejected / b.received > rejectionRateLimit) {
      found.push({
        kind: 'high_rejection_rate',
        at: b.at.toISOString(),
        detail: `batch ${b.id} rejected ${b.rejected} of ${b.received} records (${percent(b.rejected / b.received)}, limit ${percent(rejectionRateLimit)})`
      })
    }
  }
  const f = report.freshness
  if (f.stale) {
    found.push({
      kind: 'stale',
      at: f.staleSince ?? now,
      detail: f.lastIngestAt === null
        ? `no data ingested yet; a ${f.updateFrequency} dataset expects some within ${f.maxAgeDays} days`
        : `last ingest ${f.lastIngestAt}, ${f.ageDays} days ago; a ${f.updateFrequency} dataset allows ${f.maxAgeDays}`
    })
  }
  for (const field of report.completeness.fields) {
    if (field.required && field.ratio !== null && field.ratio < 1) {
      const missing = report.completeness.basisRows - field.filled
      const where = report.completeness.method === 'sample' ? 'sampled' : 'stored'
      found.push({ kind: 'required_field_missing', at: now, detail: `required field ${field.field} is empty in ${missing} ${where} records` })
    }
  }
  const p = report.persons
  if (p.rowsWithoutPersonKey !== null && p.rowsWithoutPersonKey > 0) {
    found.push({ kind: 'person_key_missing', at: now, detail: `${p.rowsWithoutPersonKey} records carry no ${p.personKey}: the person count understates` })
  }
  if (p.personKey === null && facts.dataset.holdsPersonalInfo) {
    found.push({ kind: 'person_key_undeclared', at: now, detail: 'the dataset holds personal information but declares no personKey: persons cannot be counted (R9.4)' })
  }
  const r = report.retention
  if (r.expiredRows > 0) {
    found.push({ kind: 'retention_expired', at: r.oldestExpiresAt ?? now, detail: `${r.expiredRows} records are older than the retention period of ${r.retentionDays} days` })
  }
  return found.sort((a, b) => b.at.localeCompare(a.at))
}
