import type { Kysely } from 'kysely'
import type { Database, Dataset, Grant } from '../../db/database.js'
import { heldGrants } from '../../authorization/index.js'
import { onDomainEvent } from '../../platform/events.js'
import type { PolicyProfiles } from '../../masking/index.js'

/** What the data path needs of a dataset: its catalog entry and its masking policy. */
export interface DatasetEntry {
  dataset: Dataset
  profiles: PolicyProfiles
  policyVersion: number
}

export interface DataCacheOptions {
  /** how often the version counters are polled */
  refreshMs: number
  /** the cache is trusted only this long after a successful poll; past it every read goes to the database */
  maxStaleMs?: number
  now?: () => number
}

/**
 * The grants, datasets and policies of the data path, held in memory. Every gateway process polls
 * `data_path_versions` (moved by triggers on grants, datasets and masking policies) every
 * `refreshMs` and drops what changed; a change made in this process drops the cache at once and
 * bypasses it for a second (its transaction may commit after the event). If polling stops
 * succeeding, the cache is not trusted past `maxStaleMs` and reads go to the database: a revoked
 * grant is refused everywhere within a second, whatever happens to the poll.
 */
export function createDataCache (db: Kysely<Database>, options: DataCacheOptions) {
  const now = options.now ?? Date.now
  const maxStaleMs = options.maxStaleMs ?? 1000
  const grants = new Map<string, Grant[]>()
  const datasets = new Map<string, DatasetEntry | null>()
  /** derived objects (compiled maskers) that depend on the catalog or grants */
  const derived = new Map<string, unknown>()
  let versions: Record<string, string> = {}
  let polledAt = 0
  let bypassUntil = 0
  let timer: NodeJS.Timeout | undefined
  let polling: Promise<void> | null = null

  const fresh = () => now() - polledAt <= maxStaleMs && now() >= bypassUntil
  const dropAll = () => { grants.clear(); datasets.clear(); derived.clear() }

  async function poll (): Promise<void> {
    const rows = await db.selectFrom('data_path_versions').select(['source', 'version']).execute()
    const next = Object.fromEntries(rows.map((r) => [r.source, String(r.version)]))
    if (next.grants !== versions.grants) { grants.clear(); derived.clear() }
    if (next.catalog !== versions.catalog) { datasets.clear(); derived.clear() }
    versions = next
    polledAt = now()
  }

  const stopListening = onDomainEvent(() => {
    dropAll()
    bypassUntil = now() + maxStaleMs
  })

  async function loadDataset (code: string): Promise<DatasetEntry | null> {
    const [dataset, policy] = await Promise.all([
      db.selectFrom('datasets').selectAll().where('code', '=', code).executeTakeFirst(),
      db.selectFrom('masking_policies').select(['profiles', 'version']).where('dataset_code', '=', code).executeTakeFirst()
    ])
    if (!dataset) return null
    return { dataset, profiles: policy?.profiles ?? {}, policyVersion: policy?.version ?? 0 }
  }

  return {
    start () {
      timer = setInterval(() => {
        if (polling) return
        polling = poll().catch(() => {}).finally(() => { polling = null })
      }, options.refreshMs)
      timer.unref()
    },
    async stop () {
      clearInterval(timer)
      stopListening()
      await polling
    },
    /** polls now (start-up, tests) */
    refresh: poll,

    /** The grants of a unit on a dataset, newest first. */
    async grantsOf (unit: string, dataset: string): Promise<Grant[]> {
      const key = `${unit}\u0000${dataset}`
      if (fresh()) {
        const hit = grants.get(key)
        if (hit) return hit
      }
      const loadedAt = polledAt
      const rows = await heldGrants(db, unit, dataset)
      // kept only if no poll dropped the cache while loading (the rows may predate the change)
      if (fresh() && polledAt === loadedAt) grants.set(key, rows)
      return rows
    },

    /** A dataset with its policy, or null when there is none. */
    async dataset (code: string): Promise<DatasetEntry | null> {
      if (fresh()) {
        const hit = datasets.get(code)
        if (hit !== undefined) return hit
      }
      const loadedAt = polledAt
      const entry = await loadDataset(code)
      if (fresh() && polledAt === loadedAt) {
        if (datasets.size > 10_000) datasets.clear()
        datasets.set(code, entry)
      }
      return entry
    },

    /**
     * Something computed from the cached grants and datasets, kept until either changes. `make`
     * runs again when the cache is not trusted.
     */
    derive<T> (key: string, make: () => T): T {
      if (!fresh()) return make()
      let value = derived.get(key) as T | undefined
      if (value === undefined) {
        if (derived.size > 10_000) derived.clear()
        value = make()
        derived.set(key, value)
      }
      return value
    }
  }
}

export type DataCache = ReturnType<typeof createDataCache>
