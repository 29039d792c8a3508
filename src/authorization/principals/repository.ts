import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database, Grant, Offboarding, PrincipalRow, ShareRequest } from '../../db/database.js'
import { FieldError } from '../../platform/errors.js'
import type { OffboardingView, PrincipalView } from './schemas.js'

type Db = Kysely<Database> | Transaction<Database>

/** The confidentiality period after leaving (脱岗管理期, 001 §53), in PostgreSQL's calendar arithmetic. */
export const CONFIDENTIALITY_PERIOD = sql<Date>`now() + interval '1 year'`

/** Grants and share requests an offboarding ends. */
export const LIVE_GRANT_STATUSES = ['active', 'suspended'] as const
export const OPEN_REQUEST_STATUSES = ['pending_review', 'approved'] as const

export function toOffboardingView (row: Offboarding, now = Date.now()): OffboardingView {
  return {
    sub: row.sub,
    unit: row.unit_code,
    reason: row.reason,
    exitAudit: row.exit_audit,
    offboardedBy: row.offboarded_by,
    offboardedAt: row.offboarded_at.toISOString(),
    confidentialityUntil: row.confidentiality_until.toISOString(),
    inConfidentiality: row.confidentiality_until.getTime() > now,
    revokedGrants: row.revoked_grants,
    withdrawnRequests: row.withdrawn_requests,
    disabledClients: row.disabled_clients
  }
}

/** A role assignment seen on accepted tokens, as the API shows it (never the token). */
export function toPrincipalView (row: PrincipalRow): PrincipalView {
  return {
    sub: row.sub,
    unit: row.unit_code,
    roles: row.roles,
    issuer: row.issuer,
    kind: row.client_id === null ? 'person' : 'client',
    client: row.client_id,
    tokenId: row.token_id,
    tokenExpiresAt: row.token_expires_at?.toISOString() ?? null,
    firstSeenAt: row.first_seen_at.toISOString(),
    lastSeenAt: row.last_seen_at.toISOString(),
    uses: Number(row.uses)
  }
}

export interface SeenFilter {
  limit: number
  afterId?: string
  role?: string
  unit?: string
}

export interface OffboardingFilter {
  limit: number
  beforeSeq?: string
  unit?: string
  inConfidentiality?: boolean
}

export function createPrincipalRepository (db: Kysely<Database>) {
  return {
    /**
     * Records the departure, its confidentiality period starting now. Null when this person already
     * left this unit; a concurrent offboarding of the same person waits here for the first to finish.
     */
    async insert (values: { sub: string, unit: string, reason: string, exitAudit: boolean, by: string }, trx: Db): Promise<Offboarding | null> {
      const row = await trx.insertInto('offboardings').values({
        sub: values.sub,
        unit_code: values.unit,
        reason: values.reason,
        exit_audit: values.exitAudit,
        offboarded_by: values.by,
        confidentiality_until: CONFIDENTIALITY_PERIOD
      }).onConflict((oc) => oc.columns(['sub', 'unit_code']).doNothing())
        .returningAll().executeTakeFirst()
        .catch((err: { code?: string }) => {
          if (err.code === '23503') throw new FieldError('unit', `no unit with code ${values.unit} is registered`)
          throw err
        })
      return row ?? null
    },

    async setRevoked (id: string, lists: { grants: string[], requests: string[], clients: string[] }, trx: Db): Promise<Offboarding> {
      return await trx.updateTable('offboardings')
        .set({ revoked_grants: lists.grants, withdrawn_requests: lists.requests, disabled_clients: lists.clients })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    },

    /** The person's departure from `unit`, or their latest one. */
    async find (sub: string, unit?: string, trx: Db = db): Promise<Offboarding | null> {
      let query = trx.selectFrom('offboardings').selectAll().where('sub', '=', sub)
      if (unit !== undefined) query = query.where('unit_code', '=', unit)
      return await query.orderBy('seq', 'desc').limit(1).executeTakeFirst() ?? null
    },

    async list (filter: OffboardingFilter): Promise<Offboarding[]> {
      let query = db.selectFrom('offboardings').selectAll()
      if (filter.unit !== undefined) query = query.where('unit_code', '=', filter.unit)
      if (filter.inConfidentiality !== undefined) query = query.where('confidentiality_until', filter.inConfidentiality ? '>' : '<=', sql<Date>`now()`)
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq)
      return await query.orderBy('seq', 'desc').limit(filter.limit).execute()
    },

    /** Role assignments seen on accepted tokens, in the order first seen (principal-registry.ts writes them). */
    async listSeen (filter: SeenFilter): Promise<PrincipalRow[]> {
      let query = db.selectFrom('principals').selectAll()
      if (filter.role !== undefined) query = query.where(sql<boolean>`${filter.role} = any(roles)`)
      if (filter.unit !== undefined) query = query.where('unit_code', '=', filter.unit)
      if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId)
      return await query.orderBy('id').limit(filter.limit).execute()
    },

    /** Requests not yet decided or not yet active, of one requester or on one dataset, locked. */
    async lockOpenRequests (of: { requestedBy: string } | { dataset: string }, trx: Transaction<Database>): Promise<ShareRequest[]> {
      return await trx.selectFrom('share_requests').selectAll()
        .where('requestedBy' in of ? 'requested_by' : 'dataset_code', '=', 'requestedBy' in of ? of.requestedBy : of.dataset)
        .where('status', 'in', OPEN_REQUEST_STATUSES)
        .orderBy('seq').forUpdate().execute()
    },

    async withdrawRequests (ids: string[], reason: string, trx: Db): Promise<void> {
      if (ids.length === 0) return
      await trx.updateTable('share_requests')
        .set({ status: 'withdrawn', decision_reason: reason, updated_at: sql`now()` })
        .where('id', 'in', ids).execute()
    },

    /** The grants to the person that are still live (active or suspended), locked. */
    async lockLiveGrants (sub: string, trx: Transaction<Database>): Promise<Grant[]> {
      return await trx.selectFrom('grants').selectAll()
        .where('subject', '=', sub).where('status', 'in', LIVE_GRANT_STATUSES)
        .orderBy('seq').forUpdate().execute()
    },

    async revokeGrants (ids: string[], reason: string, by: string, trx: Db): Promise<void> {
      if (ids.length === 0) return
      await trx.updateTable('grants')
        .set({ status: 'revoked', status_reason: reason, status_changed_by: by, status_changed_at: sql`now()`, updated_at: sql`now()` })
        .where('id', 'in', ids).execute()
    }
  }
}
export type PrincipalRepository = ReturnType<typeof createPrincipalRepository>
