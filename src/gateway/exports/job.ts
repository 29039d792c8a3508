import type { AppendResult, AuditEventInput } from '../../audit/index.js'
import type { PersonDigester, PersonTracer } from '../../audit/index.js'
import { unusableBecause } from '../../authorization/index.js'
import type { ExportRow } from '../../db/database.js'
import type { MaskingKey } from '../../masking/index.js'
import type { AeadSuite } from '../../platform/aead.js'
import type { DataCache } from '../data/cache.js'
import { csvHeader } from '../data/format.js'
import type { DataReader, ReadPlan, StoredRow } from '../data/reader.js'
import { cellDigest, coincidence, createDecoyTally, decoyCount, decoyMaker, decoyPositions, valueSpace } from '../watermarks/decoys.js'
import { decoyDigestKey, exportFileKey, watermarkKey } from '../watermarks/keys.js'
import { createMarker } from '../watermarks/marks.js'
import { createSealedWriter } from './file-store.js'
import { createLineWriter } from './lines.js'
import type { DecoyInput, ExportRepository } from './repository.js'

/** Rows per query, per sealed chunk and per progress update. */
export const BATCH_ROWS = 2000

export interface JobDeps {
  reader: DataReader
  repo: ExportRepository
  cache: DataCache
  key: MaskingKey
  suite: AeadSuite
  dir: string
  decoyEvery: number
  ttlHours: number
  /** which exports record the persons they served (AUDIT_PERSON_TRACE) */
  tracer: PersonTracer
  audit: (event: AuditEventInput) => Promise<AppendResult>
}

/** Most persons one trace event of an export names: an export of millions of rows is recorded in parts. */
export const TRACE_PART_PERSONS = 50_000

/** The job stopped for a reason its owner should read (the grant was revoked, the process is shutting down). */
export class JobStopped extends Error {}

/**
 * Text columns that carry invisible marks: strings that are neither the primary or person key (they
 * are what files are joined on) nor code-table values (they are what files are filtered on).
 */
export function markableFields (plan: ReadPlan): Set<string> {
  const { dataset } = plan.view.entry
  const keys = new Set([...dataset.primary_key, dataset.person_key].filter((k): k is string => typeof k === 'string'))
  return new Set(plan.fields.filter((name) => {
    const f = plan.view.fields.get(name)!.field
    return f.type === 'string' && !f.enum && !keys.has(name)
  }))
}

interface Decoy { position: number, line: string, texts: string[] }

/**
 * Writes one export: keyset batches through the reader (never the whole result in memory), each
 * row masked by the grant's policy, text cells marked, decoys placed among the rows, every batch
 * sealed to disk with backpressure and its progress recorded. The grant is checked again before
 * every batch: revoked, suspended or expired, the job stops. At most `rows_total` rows (what the
 * quota was charged for).
 */
export async function runExport (deps: JobDeps, row: ExportRow, plan: ReadPlan, signal: AbortSignal): Promise<{ rowsWritten: number }> {
  const id = row.id
  const limit = Number(row.rows_total)
  const wkey = watermarkKey(deps.key, id)
  const fields = plan.fields
  const lines = createLineWriter(fields, markableFields(plan), createMarker(wkey))
  const decoyTotal = decoyCount(limit, deps.decoyEvery)
  const positions = decoyPositions(wkey, decoyTotal, limit)
  let decoys: Decoy[] = []
  let tally: ReturnType<typeof createDecoyTally> | null = null
  /** the first batch's cells, by column: how many values each column takes (decoys.ts: valueSpace) */
  const sampled = fields.map(() => new Map<string, number>())
  let nextDecoy = 0
  let written = 0
  let after: string | undefined

  const trace = createExportTrace(deps, row, plan)
  const writer = await createSealedWriter(deps.dir, id, exportFileKey(deps.key, id), deps.suite)
  try {
    await writer.write(csvHeader(fields))
    while (written < limit) {
      if (signal.aborted) throw new JobStopped('interrupted: the process shut down')
      await checkGrant(deps.cache, row)
      const want = Math.min(BATCH_ROWS, limit - written)
      const batch = await deps.reader.fetch(plan, { after, limit: want })
      if (batch.length === 0) break
      if (written === 0 && decoyTotal > 0) {
        decoys = makeDecoys(plan, wkey, positions, batch.map((r) => r.data), lines)
        tally = createDecoyTally(fields, decoys.map((d) => d.texts))
      }
      const first = written === 0
      let chunk = ''
      for (const stored of batch) {
        chunk += lines.line(plan.masker(stored.data))
        if (tally) {
          tally.add(lines.texts)
          if (first) for (let c = 0; c < fields.length; c++) sampled[c]!.set(lines.texts[c]!, (sampled[c]!.get(lines.texts[c]!) ?? 0) + 1)
        }
        written++
        while (nextDecoy < decoys.length && decoys[nextDecoy]!.position <= written) chunk += decoys[nextDecoy++]!.line
      }
      after = batch[batch.length - 1]!.record_key
      await trace?.add(batch, written)
      await writer.write(chunk)
      await deps.repo.progress(id, written)
      if (batch.length < want) break
    }
    // fewer rows than counted (deleted meanwhile): the decoys still due go at the end
    let rest = ''
    while (nextDecoy < decoys.length) rest += decoys[nextDecoy++]!.line
    await writer.write(rest)
    await trace?.end(written)
    if (signal.aborted) throw new JobStopped('interrupted: the process shut down')
    const file = await writer.finish()
    const dkey = decoyDigestKey(deps.key)
    const spaces = sampled.map(valueSpace)
    const stored: DecoyInput[] = decoys.map((d, ordinal) => ({
      ordinal,
      position: d.position,
      cells: Object.fromEntries(fields.map((f, c) => {
        const holding = tally!.counts[ordinal]![c]!
        return [f, { d: cellDigest(dkey, f, d.texts[c]!), f: holding, q: coincidence(holding, written, spaces[c]!) }]
      }))
    }))
    if (!(await deps.repo.finish(id, { rowsWritten: written, decoys: stored, ...file, ttlHours: deps.ttlHours }))) {
      throw new JobStopped('given up: the export was marked failed while it was being written')
    }
    return { rowsWritten: written }
  } catch (err) {
    await writer.discard()
    throw err
  }
}

/**
 * The persons an export wrote into its file, recorded as `data.export.write` events of its caller
 * (rows 0: the download counts the rows) in parts of at most TRACE_PART_PERSONS persons, the last
 * before the export is done. A part that cannot be recorded fails the export: no file without its
 * trace. Null when the dataset is not traced.
 */
function createExportTrace (deps: JobDeps, row: ExportRow, plan: ReadPlan) {
  const digester: PersonDigester | null = deps.tracer.of(plan.view.entry.dataset)
  if (!digester) return null
  let persons = new Map<string, Buffer>()
  let part = 0
  let from = 0
  const record = async (through: number) => {
    const digests = [...persons.values()]
    persons = new Map()
    try {
      await deps.audit({
        service: 'gateway',
        action: 'export',
        operation: 'data.export.write',
        actor: { sub: row.sub, unit: row.consumer_unit, client: row.client, roles: [] },
        objectType: 'export',
        objectId: row.id,
        dataset: row.dataset_code,
        fields: plan.fields,
        rows: 0,
        grantId: row.grant_id,
        persons: digests,
        details: { export: row.id, part: ++part, rowsFrom: from + 1, rowsThrough: through, persons: digests.length, masked: plan.masked }
      })
    } catch {
      throw new JobStopped('failed: the audit log could not record whose rows the export holds; try again')
    }
    from = through
  }
  return {
    async add (batch: readonly StoredRow[], through: number) {
      digester.collect(batch, persons)
      if (persons.size >= TRACE_PART_PERSONS) await record(through)
    },
    async end (through: number) {
      if (persons.size > 0 || part === 0) await record(through)
    }
  }
}

async function checkGrant (cache: DataCache, row: ExportRow) {
  const grant = (await cache.grantsOf(row.consumer_unit, row.dataset_code)).find((g) => g.id === row.grant_id)
  const why = grant ? unusableBecause(grant, 'export') : `grant ${row.grant_id} no longer exists`
  if (why) throw new JobStopped(`stopped: ${why}`)
}

function makeDecoys (plan: ReadPlan, wkey: Buffer, positions: readonly number[], sample: Record<string, unknown>[], lines: ReturnType<typeof createLineWriter>): Decoy[] {
  const { dataset } = plan.view.entry
  const keyFields = new Set([...dataset.primary_key, dataset.person_key].filter((k): k is string => typeof k === 'string'))
  const make = decoyMaker(wkey, { fields: plan.fields.map((f) => plan.view.fields.get(f)!.field), keyFields, sample })
  return positions.map((position, ordinal) => {
    const line = lines.line(plan.masker(make(ordinal)))
    return { position, line, texts: [...lines.texts] }
  })
}
