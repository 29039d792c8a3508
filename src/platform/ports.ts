import type { Transaction } from 'kysely'
import type { Database, Dataset } from '../db/database.js'
import type { Principal } from './auth/plugin.js'

/**
 * What a service asks of a service above it, as an interface: the asking service states here what
 * it needs, the answering service implements it (exported from its `index.ts`), and the composition
 * root (src/app.ts) hands one to the other as `app.ports`. So a service never imports one above it,
 * and the folders of src/ form no cycle (docs/architecture.md).
 */
export interface Ports {
  /** the catalog's datasets, for masking's policy routes */
  datasets: DatasetDirectory
  /** grants and share requests, for the catalog's metadata access, corrections and destructions */
  sharing: SharingControl
}

/** The catalog's datasets as masking needs them (implemented by the catalog). */
export interface DatasetDirectory {
  find: (code: string) => Promise<Dataset | null>
  /** the dataset as the catalog shows it to the principal (another unit's draft does not exist for it), or the catalog's 404 */
  visible: (code: string, principal: Principal) => Promise<Dataset>
  /** the catalog's 404 for a dataset code */
  notFound: (code: string) => Error
}

/** What the catalog asks of authorization (implemented by authorization). */
export interface SharingControl {
  /** R2.8: does the unit hold a live grant on the dataset, or have a share request for it under way? */
  hasInterest: (dataset: string, unit: string) => Promise<boolean>
  /** does the unit hold an active grant on the dataset? */
  holdsActiveGrant: (dataset: string, unit: string) => Promise<boolean>
  /**
   * A destroyed dataset's sharing ended, inside the destruction's transaction: its open share
   * requests withdrawn (their agreements void) and its live grants revoked, each with its event as
   * the catalog records them. Returns the revoked grants' ids.
   */
  endSharing: (trx: Transaction<Database>, end: SharingEnd) => Promise<{ withdrawn: number, revoked: string[] }>
}

export interface SharingEnd {
  dataset: string
  reason: string
  actor: Principal
  requestId: string
  /** what the events' details add: the cause and its object (e.g. `{ cause: 'destruction', destruction: id }`) */
  cause: Record<string, unknown>
}

declare module 'fastify' {
  interface FastifyInstance {
    ports: Ports
  }
}
