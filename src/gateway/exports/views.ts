import type { ExportRow } from '../../db/database.js'
import type { ExportView } from './schemas.js'

const iso = (d: Date | null) => d === null ? null : new Date(d).toISOString()
const num = (v: string | number | null) => v === null ? null : Number(v)

/** The API shape of an export row. */
export function toExportView (row: ExportRow): ExportView {
  const total = Number(row.rows_total)
  const written = Number(row.rows_written)
  return {
    id: row.id,
    dataset: row.dataset_code,
    grant: row.grant_id,
    unit: row.consumer_unit,
    sub: row.sub,
    client: row.client,
    fields: row.fields,
    filters: row.filters,
    status: row.status,
    rowsTotal: total,
    rowsWritten: written,
    progress: row.status === 'done' ? 1 : total === 0 ? 0 : Math.min(1, written / total),
    bytes: num(row.bytes),
    sha256: row.sha256,
    error: row.error,
    createdAt: new Date(row.created_at).toISOString(),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    expiresAt: iso(row.expires_at),
    file: row.status === 'done' ? `/api/v1/exports/${row.id}/file` : null
  }
}
