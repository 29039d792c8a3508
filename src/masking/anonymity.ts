import { compileRule, type Row, type Rule } from './engine.js'
import { parseAddress, parseDate } from './formats.js'
import { numberOf } from './generalize.js'
import { REDACT, type CompileContext } from './strategies.js'
import { length, textOf } from './text.js'

/**
 * Re-identification risk of a row set over chosen quasi-identifiers (R6.4): k-anonymity (the size of
 * the smallest equivalence class), the smallest classes, l-diversity of a sensitive field, and a
 * greedy generalisation, expressed as masking rules, that reaches a requested k.
 */
export interface AnonymityRequest {
  rows: Row[]
  quasiIdentifiers: string[]
  k: number
  sensitive?: string | undefined
  smallest: number
}

interface Classes { sizes: Map<string, number>, first: Map<string, number>, sensitive: Map<string, Set<string>> }

function classesOf (columns: string[][], rowCount: number, sensitive?: string[]): Classes {
  const sizes = new Map<string, number>()
  const first = new Map<string, number>()
  const diversity = new Map<string, Set<string>>()
  for (let i = 0; i < rowCount; i++) {
    let key = ''
    for (const column of columns) key += column[i]! + '\u0000'
    const size = sizes.get(key)
    if (size === undefined) { sizes.set(key, 1); first.set(key, i) } else sizes.set(key, size + 1)
    if (sensitive) {
      let set = diversity.get(key)
      if (!set) { set = new Set(); diversity.set(key, set) }
      set.add(sensitive[i]!)
    }
  }
  return { sizes, first, sensitive: diversity }
}

const cell = (value: unknown): string => value === undefined || value === null ? '∅' : (textOf(value) ?? JSON.stringify(value))

function minSize (c: Classes): number {
  let min = Infinity
  for (const s of c.sizes.values()) if (s < min) min = s
  return min === Infinity ? 0 : min
}

function rowsBelow (c: Classes, k: number): number {
  let n = 0
  for (const s of c.sizes.values()) if (s < k) n += s
  return n
}

const nice = (x: number) => {
  const p = 10 ** Math.floor(Math.log10(x))
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= x) ?? 10 * p
}

/** Ever coarser rules for one column, judged from its values; the last one hides it entirely. */
function ladder (values: unknown[], piType?: string): Rule[] {
  const present = values.filter((v) => v !== null && v !== undefined)
  const all = (test: (v: unknown) => boolean) => present.length > 0 && present.every(test)
  const star: Rule = { strategy: 'replace', value: '*' }
  if (all((v) => numberOf(v) !== null)) {
    const nums = present.map((v) => numberOf(v)!)
    const span = Math.max(...nums) - Math.min(...nums)
    if (span === 0) return [star]
    const rules: Rule[] = []
    for (let w = nice(span / 100); w < span * 2; w = nice(w * 2.1)) rules.push({ strategy: 'generalize', to: 'range', width: w })
    return [...rules, star]
  }
  if (all((v) => parseDate(textOf(v) ?? '') !== null)) {
    return [{ strategy: 'generalize', to: 'year_month' }, { strategy: 'generalize', to: 'year' }, star]
  }
  if (piType === 'address' || all((v) => parseAddress(textOf(v) ?? '') !== null)) {
    return ['district', 'city', 'province'].map((to): Rule => ({ strategy: 'generalize', to })).concat([star])
  }
  const longest = Math.max(0, ...present.map((v) => length(textOf(v) ?? '')))
  const lengths = [...new Set([Math.floor(longest * 3 / 4), Math.floor(longest / 2), Math.floor(longest / 4), 1])].filter((n) => n > 0 && n < longest)
  return [...lengths.map((n): Rule => ({ strategy: 'truncate', length: n })), star]
}

export function anonymity (request: AnonymityRequest, ctx: CompileContext) {
  const { rows, quasiIdentifiers: qis, k } = request
  const raw = qis.map((f) => rows.map((r) => r[f]))
  const baseColumns = raw.map((col) => col.map(cell))
  const sensitive = request.sensitive ? rows.map((r) => cell(r[request.sensitive!])) : undefined
  const classes = classesOf(baseColumns, rows.length, sensitive)

  const smallest = [...classes.sizes.entries()].sort((a, b) => a[1] - b[1]).slice(0, request.smallest)
    .map(([key, size]) => {
      const at = classes.first.get(key)!
      return { size, values: Object.fromEntries(qis.map((f, j) => [f, rows[at]![f] ?? null])) }
    })
  let l: number | null = null
  if (sensitive) {
    l = Infinity
    for (const set of classes.sensitive.values()) l = Math.min(l, set.size)
    if (l === Infinity) l = 0
  }
  const achieved = minSize(classes)
  return {
    rows: rows.length,
    classes: classes.sizes.size,
    k: achieved,
    targetK: k,
    meetsK: rows.length > 0 && achieved >= k,
    rowsBelowK: rowsBelow(classes, k),
    smallestClasses: smallest,
    lDiversity: request.sensitive ? { field: request.sensitive, l: l ?? 0 } : null,
    suggestion: achieved >= k || rows.length === 0 ? null : suggest(raw, baseColumns, qis, k, ctx)
  }
}

/** Greedy: coarsen, one step at a time, the column whose step raises k the most (fewest rows left below it on ties). */
function suggest (raw: unknown[][], base: string[][], qis: string[], k: number, ctx: CompileContext) {
  const ladders = raw.map((col) => ladder(col))
  const cache = new Map<string, string[]>()
  const column = (j: number, level: number): string[] => {
    if (level === 0) return base[j]!
    const id = `${j}/${level}`
    let out = cache.get(id)
    if (!out) {
      const fn = compileRule(ladders[j]![level - 1], 'rule', ctx)
      out = raw[j]!.map((v) => { const m = fn(v); return m === REDACT ? '∅' : cell(m) })
      cache.set(id, out)
    }
    return out
  }
  const rowCount = base[0]?.length ?? 0
  const levels = qis.map(() => 0)
  let current = classesOf(levels.map((l, j) => column(j, l)), rowCount)
  while (minSize(current) < k) {
    let best: { j: number, c: Classes, k: number, below: number } | null = null
    for (let j = 0; j < qis.length; j++) {
      if (levels[j]! >= ladders[j]!.length) continue
      const c = classesOf(levels.map((l, i) => column(i, i === j ? l + 1 : l)), rowCount)
      const kk = minSize(c); const below = rowsBelow(c, k)
      if (!best || kk > best.k || (kk === best.k && below < best.below)) best = { j, c, k: kk, below }
    }
    if (!best) break
    levels[best.j]!++
    current = best.c
  }
  const rules: Record<string, Rule> = {}
  qis.forEach((f, j) => { if (levels[j]! > 0) rules[f] = ladders[j]![levels[j]! - 1]! })
  const reached = minSize(current)
  return { rules, k: reached, rowsToSuppress: rowsBelow(current, k) }
}
