import type { Kysely, Transaction } from 'kysely'
import type { Database, Dataset } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import type { DatasetDirectory } from '../../platform/ports.js'
import { DatasetNotFoundError } from '../errors.js'
import { canSee } from './access.js'
import { createDatasetRepository, type DatasetRepository } from './repository.js'

/** The dataset as the caller may know it; 404 when unknown or another unit's draft. */
export async function visibleDataset (datasets: Pick<DatasetRepository, 'find'>, code: string, principal: Principal): Promise<Dataset> {
  const row = await datasets.find(code)
  if (!row || !canSee(principal, row)) throw new DatasetNotFoundError(code)
  return row
}

/** The catalog's datasets as other services ask for them (platform/ports.ts). */
export function createDatasetDirectory (db: Kysely<Database>): DatasetDirectory {
  const datasets = createDatasetRepository(db)
  return {
    find: async (code) => await datasets.find(code),
    visible: async (code, principal) => await visibleDataset(datasets, code, principal),
    notFound: (code) => new DatasetNotFoundError(code)
  }
}

/** What other services read of the catalog's datasets: one entry by code, in their transaction if they give one. */
export interface DatasetReader {
  find: (code: string, trx?: Kysely<Database> | Transaction<Database>) => Promise<Dataset | null>
}

export function createDatasetReader (db: Kysely<Database>): DatasetReader {
  const datasets = createDatasetRepository(db)
  return { find: async (code, trx) => await datasets.find(code, trx) }
}
