import type { ExportRow } from '../../db/database.js'
import type { MaskingKey } from '../../masking/index.js'
import { cellDigest } from './decoys.js'
import type { Fragment } from './fragment.js'
import { decoyDigestKey, watermarkCheck, watermarkKey } from './keys.js'
import { createMarker, MARK_CHANCE, stripMark } from './marks.js'
import { confidenceOf, logBinomialTail, logCombined } from './score.js'

/** Matches below this confidence are not reported: the false-positive rate of a trace is at most 1 − it. */
export const MIN_CONFIDENCE = 0.999999

/** An export a fragment may come from, as the export repository lists them (`candidates`). */
export type TraceCandidate = Pick<ExportRow, 'id' | 'grant_id' | 'dataset_code' | 'consumer_unit' | 'sub' | 'client' | 'fields' | 'rows_total' | 'created_at' | 'watermark_check'> & {
  /** its fields hold every column of the fragment */
  holds_columns: boolean
}

export interface CandidateDecoy { export_id: string, ordinal: number, cells: Record<string, { d: string, f: number, q: number }> }

export interface TraceMatch {
  export: string
  grant: string
  dataset: string
  unit: string
  sub: string
  client: string | null
  createdAt: string
  confidence: number
  evidence: { cellsChecked: number, cellsMatched: number, valuesChecked: number, valuesMatched: number, decoysFound: number }
  /** for ordering: the log of the combined p-value */
  logP: number
}

/**
 * Which of the candidate exports a fragment comes from. Two independent pieces of evidence per
 * candidate, each turned into the chance of seeing it by accident:
 * - invisible marks: of the distinct (text, mark) pairs in the fragment, how many carry the mark
 *   the candidate's key gives that text; by accident each does with probability 1/256, so the
 *   chance is a binomial tail;
 * - decoys: a fragment row equal, on every column of the fragment, to one of the candidate's decoy
 *   rows; by accident with probability about n · Π over the columns of q (the chance that a row not
 *   from the export holds the decoy's value in that column, see decoys.ts: coincidence), n the rows
 *   of the fragment, columns taken as independent. A decoy seen on columns every row shares weighs
 *   nothing; one whose synthetic identifier is among the columns weighs a lot.
 * They are combined as independent p-values and corrected for the number of candidates looked at.
 */
export function traceFragment (fragment: Fragment, candidates: readonly TraceCandidate[], decoys: readonly CandidateDecoy[], key: MaskingKey) {
  const verifiable = candidates.filter((c) => watermarkCheck(watermarkKey(key, c.id)) === c.watermark_check)
  const found = findDecoys(fragment, verifiable, decoys, key)
  const pairs = [...fragment.marks].flatMap(([text, byMark]) => [...byMark].map(([mark, cells]) => ({ text, mark, cells })))
  const matches: TraceMatch[] = []
  for (const c of verifiable) {
    const markOf = createMarker(watermarkKey(key, c.id))
    let cellsChecked = 0
    let cellsMatched = 0
    let valuesMatched = 0
    for (const p of pairs) {
      cellsChecked += p.cells
      if (markOf(p.text) === p.mark) { valuesMatched++; cellsMatched += p.cells }
    }
    const decoyPs = found.get(c.id) ?? []
    const evidence = [...(pairs.length > 0 ? [logBinomialTail(valuesMatched, pairs.length, MARK_CHANCE)] : []), ...decoyPs]
    const logP = logCombined(evidence)
    const confidence = confidenceOf(logP, verifiable.length)
    if (confidence < MIN_CONFIDENCE) continue
    matches.push({
      export: c.id,
      grant: c.grant_id,
      dataset: c.dataset_code,
      unit: c.consumer_unit,
      sub: c.sub,
      client: c.client,
      createdAt: new Date(c.created_at).toISOString(),
      confidence,
      evidence: { cellsChecked, cellsMatched, valuesChecked: pairs.length, valuesMatched, decoysFound: decoyPs.length },
      logP
    })
  }
  matches.sort((a, b) => a.logP - b.logP)
  return { matches, candidates: verifiable.length, unverifiable: candidates.length - verifiable.length }
}

/** Per candidate export, the log p-value of each of its decoys found in the fragment. */
function findDecoys (fragment: Fragment, candidates: readonly TraceCandidate[], decoys: readonly CandidateDecoy[], key: MaskingKey): Map<string, number[]> {
  const out = new Map<string, number[]>()
  const byId = new Map(candidates.filter((c) => c.holds_columns).map((c) => [c.id, c]))
  const { columns, rows } = fragment
  const first = columns[0]!
  // decoys by the digest of their cell in the fragment's first column
  const index = new Map<string, CandidateDecoy[]>()
  for (const d of decoys) {
    if (!byId.has(d.export_id)) continue
    const digest = d.cells[first]?.d
    if (digest === undefined) continue
    const list = index.get(digest)
    if (list) list.push(d); else index.set(digest, [d])
  }
  if (index.size === 0) return out
  const dkey = decoyDigestKey(key)
  const seen = new Set<string>()
  for (const row of rows) {
    const hits = index.get(cellDigest(dkey, first, stripMark(row[0]!)))
    if (!hits) continue
    const digests = columns.map((c, i) => i === 0 ? '' : cellDigest(dkey, c, stripMark(row[i]!)))
    for (const d of hits) {
      const id = `${d.export_id}/${d.ordinal}`
      if (seen.has(id) || !columns.every((c, i) => i === 0 || d.cells[c]?.d === digests[i])) continue
      seen.add(id)
      let logP = Math.log(rows.length)
      for (const c of columns) logP += Math.log(Math.max(d.cells[c]!.q, Number.MIN_VALUE))
      logP = Math.min(0, logP)
      const list = out.get(d.export_id)
      if (list) list.push(logP); else out.set(d.export_id, [logP])
    }
  }
  return out
}
