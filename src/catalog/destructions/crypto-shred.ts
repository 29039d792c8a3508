import type { Transaction } from 'kysely'
import type { Database } from '../../db/database.js'
import type { Encryption } from '../encryption/plugin.js'
import type { DestructionRepository } from './repository.js'

export interface ShreddedKey {
  suite: string
  /** the master key that wrapped it: backups taken before hold the key wrapped by this one */
  masterFingerprint: string | null
}

/**
 * Crypto-shredding of a dataset destroyed as a whole: destroys the dataset's data key in the key
 * store (`data_keys`, src/catalog/encryption/keyring.ts), in the destruction's transaction, so
 * that the encrypted fields of every copy of its records — replicas, dumps, backups — can no
 * longer be opened through this platform. Returns the key destroyed, or null when the dataset had
 * no live data key (no encrypted value was ever stored): the certificate then says `delete`, never
 * a shredding that did not happen.
 */
export async function shredDataKey (
  encryption: Encryption, repository: DestructionRepository, dataset: string, by: string, trx: Transaction<Database>
): Promise<ShreddedKey | null> {
  const key = await repository.dataKeyOf(dataset, trx)
  if (!key || key.destroyed_at !== null) return null
  if (!(await encryption.keyring.destroy(dataset, by, trx))) return null
  return { suite: key.suite, masterFingerprint: key.master_fingerprint }
}
