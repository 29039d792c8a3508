import { randomBytes } from 'node:crypto'
import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from '../../db/database.js'
import { AeadError, open, seal, type AeadSuite } from '../../platform/aead.js'
import { masterKeyFingerprint, type MasterKey as PlatformMasterKey } from '../../platform/master-key.js'

type Db = Kysely<Database> | Transaction<Database>

/** A master key as the keyring uses it: its bytes and its public fingerprint (see platform/master-key.ts). */
export type MasterKey = Pick<PlatformMasterKey, 'key' | 'fingerprint'>

/** The fingerprint of a master key: safe to store and show, useless to decrypt. */
export const masterFingerprint = masterKeyFingerprint

const CHECK = Buffer.from('datagate master key check v1')
const wrapAad = (dataset: string) => Buffer.from(`datagate-data-key\u0000${dataset}`)

export class MasterKeyMismatchError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'MasterKeyMismatchError'
  }
}

export class DataKeyDestroyedError extends Error {
  readonly statusCode = 409
  readonly code = 'CATALOG_DATA_KEY_DESTROYED'
  constructor (readonly dataset: string) {
    super(`the data key of dataset ${dataset} was destroyed: its encrypted fields are unreadable`)
    this.name = 'DataKeyDestroyedError'
  }
}

export interface KeyStatus {
  dataset: string
  suite: string
  masterFingerprint: string | null
  createdAt: Date
  rewrappedAt: Date | null
  destroyedAt: Date | null
  ageDays: number
}

/**
 * Data keys of datasets (envelope encryption): a random 256-bit key per dataset, stored wrapped
 * (sealed) by the master key with the dataset code as associated data, unwrapped on first use and
 * kept in memory. `masters` holds the current master key first and, during a rotation, the
 * previous one: keys not yet re-wrapped still open.
 */
export function createKeyring (db: Kysely<Database>, { masters, suite }: { masters: readonly MasterKey[], suite: AeadSuite }) {
  if (masters.length === 0) throw new Error('the keyring needs a master key')
  const current = masters[0]!
  const byFingerprint = new Map(masters.map((m) => [m.fingerprint, m]))
  const keys = new Map<string, Buffer>()
  const creating = new Map<string, Promise<Buffer>>()

  function unwrap (dataset: string, wrapped: Buffer, fingerprint: string): Buffer {
    const master = byFingerprint.get(fingerprint)
    if (!master) {
      throw new MasterKeyMismatchError(`the data key of dataset ${dataset} is wrapped by master key ${fingerprint}, which this process does not hold ` +
        `(it holds ${[...byFingerprint.keys()].join(', ')}): set DATAGATE_MASTER_KEY (and DATAGATE_MASTER_KEY_PREVIOUS during a rotation)`)
    }
    return open(master.key, wrapped, wrapAad(dataset))
  }

  async function load (dataset: string, trx: Db): Promise<Buffer | null> {
    const row = await trx.selectFrom('data_keys').selectAll().where('dataset_code', '=', dataset).executeTakeFirst()
    if (!row) return null
    if (row.destroyed_at || !row.wrapped || !row.master_fingerprint) throw new DataKeyDestroyedError(dataset)
    return unwrap(dataset, row.wrapped, row.master_fingerprint)
  }

  return {
    current,

    /**
     * Checks the master key against the database before anything is written: its check value
     * must open if the database knows it, and every live data key must be wrapped by a key this
     * process holds. A new master key is registered here.
     */
    async verify (): Promise<void> {
      const known = await db.selectFrom('master_keys').selectAll().execute()
      for (const master of masters) {
        const row = known.find((k) => k.fingerprint === master.fingerprint)
        if (!row) continue
        try {
          if (!open(master.key, row.check_value).equals(CHECK)) throw new AeadError()
        } catch {
          throw new MasterKeyMismatchError(`master key ${master.fingerprint} does not open its own check value: the key is corrupt`)
        }
      }
      const wrappers = await db.selectFrom('data_keys').select('master_fingerprint').distinct()
        .where('destroyed_at', 'is', null).execute()
      const missing = wrappers.map((w) => w.master_fingerprint!).filter((f) => !byFingerprint.has(f))
      if (missing.length > 0) {
        throw new MasterKeyMismatchError(`this database's data keys are wrapped by master key ${missing.join(', ')}, but the configured key is ${current.fingerprint}: ` +
          'start with the right DATAGATE_MASTER_KEY (or DATAGATE_MASTER_KEY_FILE), and DATAGATE_MASTER_KEY_PREVIOUS during a rotation')
      }
      if (!known.some((k) => k.fingerprint === current.fingerprint)) {
        await db.insertInto('master_keys').values({ fingerprint: current.fingerprint, check_value: seal(suite, current.key, CHECK) })
          .onConflict((oc) => oc.column('fingerprint').doNothing()).execute()
      }
    },

    /** The data key of a dataset, created on first use; DataKeyDestroyedError once it was shredded. */
    async dataKey (dataset: string, { create = true }: { create?: boolean } = {}): Promise<Buffer | null> {
      const hit = keys.get(dataset)
      if (hit) return hit
      let pending = creating.get(dataset)
      if (!pending) {
        pending = (async () => {
          let key = await load(dataset, db)
          if (!key && create) {
            const fresh = randomBytes(32)
            await db.insertInto('data_keys').values({
              dataset_code: dataset, suite, wrapped: seal(suite, current.key, fresh, wrapAad(dataset)), master_fingerprint: current.fingerprint
            }).onConflict((oc) => oc.column('dataset_code').doNothing()).execute()
            key = await load(dataset, db) // whoever inserted first wins
          }
          if (key) keys.set(dataset, key)
          return key as Buffer
        })().finally(() => creating.delete(dataset))
        creating.set(dataset, pending)
      }
      return await pending
    },

    /**
     * Crypto-shredding: erases the wrapped data key of a dataset (in the caller's transaction),
     * so that its encrypted fields, wherever copies of them are, can no longer be read once no
     * master key that wrapped it survives. Returns whether there was a live key.
     */
    async destroy (dataset: string, by: string, trx: Db = db): Promise<boolean> {
      const result = await trx.updateTable('data_keys')
        .set({ wrapped: null, destroyed_at: sql`now()`, destroyed_by: by })
        .where('dataset_code', '=', dataset).where('destroyed_at', 'is', null)
        .executeTakeFirst()
      keys.delete(dataset)
      return Number(result.numUpdatedRows) > 0
    },

    /** Forgets a dataset's unwrapped key (another process destroyed it). */
    forget (dataset: string) { keys.delete(dataset) },

    /**
     * Re-wraps every live data key not yet wrapped by the current master key (at most `limit`),
     * one key per statement: an interrupted rotation leaves each key wrapped by one master or the
     * other, and running it again finishes it. Returns the number re-wrapped and left.
     */
    async rotate ({ limit }: { limit?: number } = {}): Promise<{ rewrapped: number, remaining: number }> {
      await this.verify()
      let query = db.selectFrom('data_keys').select(['dataset_code', 'wrapped', 'master_fingerprint'])
        .where('destroyed_at', 'is', null).where('master_fingerprint', '<>', current.fingerprint).orderBy('dataset_code')
      if (limit !== undefined) query = query.limit(limit)
      const stale = await query.execute()
      let rewrapped = 0
      for (const row of stale) {
        const key = unwrap(row.dataset_code, row.wrapped!, row.master_fingerprint!)
        const result = await db.updateTable('data_keys')
          .set({ wrapped: seal(suite, current.key, key, wrapAad(row.dataset_code)), master_fingerprint: current.fingerprint, rewrapped_at: sql`now()` })
          .where('dataset_code', '=', row.dataset_code).where('master_fingerprint', '=', row.master_fingerprint).where('destroyed_at', 'is', null)
          .executeTakeFirst()
        rewrapped += Number(result.numUpdatedRows)
      }
      const left = await db.selectFrom('data_keys').select(sql<number>`count(*)::int`.as('n'))
        .where('destroyed_at', 'is', null).where('master_fingerprint', '<>', current.fingerprint).executeTakeFirstOrThrow()
      if (left.n === 0) {
        await db.updateTable('master_keys').set({ retired_at: sql`now()` })
          .where('fingerprint', '<>', current.fingerprint).where('retired_at', 'is', null).execute()
      }
      return { rewrapped, remaining: left.n }
    },

    async status (): Promise<KeyStatus[]> {
      const rows = await db.selectFrom('data_keys').selectAll().orderBy('dataset_code').execute()
      const now = Date.now()
      return rows.map((r) => ({
        dataset: r.dataset_code,
        suite: r.suite,
        masterFingerprint: r.master_fingerprint,
        createdAt: r.created_at,
        rewrappedAt: r.rewrapped_at,
        destroyedAt: r.destroyed_at,
        ageDays: Math.floor((now - r.created_at.getTime()) / 86_400_000)
      }))
    }
  }
}

export type Keyring = ReturnType<typeof createKeyring>
