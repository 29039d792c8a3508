import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database, DomainEvent } from '../db/database.js'
import { ACCESS_ACTIONS, type AuditAction, type AuditOutcome } from './events.js'
import type { ChainedContent } from './hash-chain.js'
import { storedDigests, tracePrefixes } from './persons/stored.js'

type Db = Kysely<Database> | Transaction<Database>

/** A timestamptz as text, UTC to the microsecond: the form hashed (hash-chain.ts `microIso`). */
const time = (column: string) => sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

/** An event as stored, every column in the text form its hash covers. */
export interface StoredEvent extends ChainedContent {
  prevHash: string
  hash: string
}

export interface ChainHead { seq: string, hash: string, checkpointSeq: string, checkpointAt: Date }

/** A domain event as the relay reads it: time and details as the text they are hashed from. */
export type DomainEventText = Omit<DomainEvent, 'occurred_at' | 'details'> & { occurred_at: string, details: string }

export interface EventFilter {
  actor?: string
  unit?: string
  dataset?: string
  action?: AuditAction
  outcome?: AuditOutcome
  from?: string
  to?: string
  afterSeq?: string
  limit: number
}

/** A monthly partition of audit_events; `from`/`to` null for DEFAULT, the seqs null when empty. */
export interface AuditPartition {
  name: string
  from: string | null
  to: string | null
  firstSeq: string | null
  lastSeq: string | null
}

export interface CheckpointRow {
  seq: string
  headHash: string
  hashAlg: string
  createdAt: string
  reason: string
  keyId: string
  algorithm: string
  signature: string
}

function eventsJson (rows: StoredEvent[]): string {
  return JSON.stringify(rows.map((e) => ({
    seq: e.seq,
    occurred_at: e.occurredAt,
    recorded_at: e.recordedAt,
    service: e.service,
    action: e.action,
    operation: e.operation,
    outcome: e.outcome,
    actor_sub: e.actorSub,
    actor_unit: e.actorUnit,
    actor_roles: e.actorRoles,
    actor_client: e.actorClient,
    actor_ip: e.actorIp,
    object_type: e.objectType,
    object_id: e.objectId,
    dataset_code: e.dataset,
    fields: e.fields,
    row_count: e.rows,
    grant_id: e.grantId,
    request_id: e.requestId,
    domain_event_id: e.domainEventId,
    details: e.details,
    hash_alg: e.hashAlg,
    prev_hash: e.prevHash,
    hash: e.hash
  })))
}

/** The persons one event served (persons/trace.ts), written beside it by audit_append (migrations/0020, 0026). */
export interface PersonTrace { seq: string, recordedAt: string, digests: readonly Buffer[] }

/**
 * Per event, the digests truncated to 16 bytes as one hex string (one decode in the database) and
 * their index keys as an array literal (parsed once; persons/stored.ts).
 */
function tracesJson (traces: readonly PersonTrace[]): string {
  return JSON.stringify(traces.map((t) => ({ s: t.seq, r: t.recordedAt, p: tracePrefixes(t.digests), d: storedDigests(t.digests).toString('hex') })))
}

function checkpointsJson (c: CheckpointRow | null): string {
  return JSON.stringify(c
    ? [{ seq: c.seq, head_hash: c.headHash, hash_alg: c.hashAlg, created_at: c.createdAt, reason: c.reason, key_id: c.keyId, algorithm: c.algorithm, signature: c.signature }]
    : [])
}

export function createAuditRepository (db: Kysely<Database>) {
  const events = (q: Db) => q.selectFrom('audit_events').select([
    sql<string>`seq::text`.as('seq'),
    time('occurred_at').as('occurredAt'),
    time('recorded_at').as('recordedAt'),
    'service', 'action', 'operation', 'outcome',
    'actor_sub as actorSub', 'actor_unit as actorUnit', 'actor_roles as actorRoles', 'actor_client as actorClient',
    'actor_ip as actorIp', 'object_type as objectType', 'object_id as objectId', 'dataset_code as dataset', 'fields',
    sql<string | null>`row_count::text`.as('rows'),
    'grant_id as grantId', 'request_id as requestId',
    sql<string | null>`domain_event_id::text`.as('domainEventId'),
    sql<string>`details::text`.as('detailsText'),
    'hash_alg as hashAlg', 'prev_hash as prevHash', 'hash'
  ])
  const parse = (row: Omit<StoredEvent, 'details'> & { detailsText: string }): StoredEvent => {
    const { detailsText, ...rest } = row
    return { ...rest, details: JSON.parse(detailsText) as unknown }
  }

  return {
    /** The chain head, locked for this transaction: writers take it once per batch, not per event. */
    async lockHead (trx: Transaction<Database>): Promise<ChainHead> {
      // and, in the same round trip, a synchronous commit whatever the server's default: the
      // caller continues only once its event is on disk
      const row = await trx.selectFrom('audit_chain_head')
        .select([sql<string>`seq::text`.as('seq'), 'hash', sql<string>`checkpoint_seq::text`.as('checkpointSeq'), 'checkpoint_at as checkpointAt',
          sql<string>`set_config('synchronous_commit', 'on', true)`.as('syncCommit')])
        .where('id', '=', 1).forUpdate().executeTakeFirstOrThrow()
      return { seq: row.seq, hash: row.hash, checkpointSeq: row.checkpointSeq, checkpointAt: row.checkpointAt }
    },

    async head (q: Db = db): Promise<ChainHead> {
      return await q.selectFrom('audit_chain_head')
        .select([sql<string>`seq::text`.as('seq'), 'hash', sql<string>`checkpoint_seq::text`.as('checkpointSeq'), 'checkpoint_at as checkpointAt'])
        .where('id', '=', 1).executeTakeFirstOrThrow()
    },

    async moveHead (trx: Transaction<Database>, head: { seq: string, hash: string, checkpointSeq?: string, checkpointAt?: string }) {
      await trx.updateTable('audit_chain_head').set({
        seq: head.seq,
        hash: head.hash,
        ...(head.checkpointSeq !== undefined ? { checkpoint_seq: head.checkpointSeq } : {}),
        ...(head.checkpointAt !== undefined ? { checkpoint_at: head.checkpointAt } : {})
      }).where('id', '=', 1).execute()
    },

    /**
     * Committed domain events not yet in the chain, oldest first: by the column, not by the output's
     * `id`, which is text ("10" sorts before "9").
     */
    async unrelayed (trx: Transaction<Database>, limit: number): Promise<DomainEventText[]> {
      const result = await sql<DomainEventText>`
        select id::text as id, ${time('occurred_at')} as occurred_at, service, action, actor_sub, actor_unit,
               actor_client, object_type, object_id, dataset_code, request_id, details::text as details
        from domain_events where audit_seq is null order by domain_events.id limit ${limit} for update`.execute(trx)
      return result.rows
    },

    async markRelayed (trx: Transaction<Database>, ids: string[], seqs: string[]) {
      if (ids.length === 0) return
      await sql`update domain_events d set audit_seq = u.seq
                from unnest(${ids}::bigint[], ${seqs}::bigint[]) as u(id, seq) where d.id = u.id`.execute(trx)
    },

    /**
     * One batch in one call of `audit_append` (migrations/0005, 0020): its rows as one JSON parameter
     * (far cheaper than 24 bound parameters per row), its checkpoint, its events' person traces, and
     * the move of the chain head, which happens only if the head is still at `from`. In autocommit
     * that is its own synchronous transaction: one round trip per batch. False when the head had moved.
     */
    async appendIfHead (q: Db, from: { seq: string, hash: string }, rows: StoredEvent[], checkpoint: CheckpointRow | null, traces: readonly PersonTrace[] = []): Promise<boolean> {
      try {
        await sql`select audit_append(${from.seq}::bigint, ${from.hash}, ${eventsJson(rows)}::jsonb, ${checkpointsJson(checkpoint)}::jsonb, ${tracesJson(traces)}::jsonb)`.execute(q)
        return true
      } catch (err) {
        if ((err as { code?: string }).code === 'DG001') return false
        throw err
      }
    },

    /** `ifAbsent`: a checkpoint already at that seq (one the purge signed before) is kept. */
    async insertCheckpoint (trx: Transaction<Database>, c: CheckpointRow, { ifAbsent = false } = {}) {
      let q = trx.insertInto('audit_checkpoints').values({
        seq: c.seq,
        head_hash: c.headHash,
        hash_alg: c.hashAlg,
        created_at: c.createdAt,
        reason: c.reason,
        key_id: c.keyId,
        algorithm: c.algorithm,
        signature: c.signature
      })
      if (ifAbsent) q = q.onConflict((oc) => oc.column('seq').doNothing())
      await q.execute()
    },

    /** Events in chain order after `afterSeq` up to `toSeq`, for verification. */
    async chainPage (afterSeq: string, toSeq: string | null, limit: number): Promise<StoredEvent[]> {
      let q = events(db).where('seq', '>', afterSeq)
      if (toSeq !== null) q = q.where('seq', '<=', toSeq)
      return (await q.orderBy('audit_events.seq').limit(limit).execute()).map(parse)
    },

    async bounds (): Promise<{ first: string | null, last: string | null }> {
      const row = await db.selectFrom('audit_events')
        .select([sql<string | null>`min(seq)::text`.as('first'), sql<string | null>`max(seq)::text`.as('last')])
        .executeTakeFirstOrThrow()
      return row
    },

    async list (f: EventFilter): Promise<StoredEvent[]> {
      let q = events(db)
      if (f.actor !== undefined) q = q.where('actor_sub', '=', f.actor)
      if (f.unit !== undefined) q = q.where('actor_unit', '=', f.unit)
      if (f.dataset !== undefined) q = q.where('dataset_code', '=', f.dataset)
      if (f.action !== undefined) q = q.where('action', '=', f.action)
      if (f.outcome !== undefined) q = q.where('outcome', '=', f.outcome)
      if (f.from !== undefined) {
        // an event is recorded after it occurred, so the months recorded before `from` (less a day for
        // clocks that differ between processes) are skipped: partition pruning on recorded_at
        q = q.where('occurred_at', '>=', sql<Date>`${f.from}::timestamptz`)
          .where('recorded_at', '>=', sql<Date>`${f.from}::timestamptz - interval '1 day'`)
      }
      if (f.to !== undefined) q = q.where('occurred_at', '<', sql<Date>`${f.to}::timestamptz`)
      if (f.afterSeq !== undefined) q = q.where('seq', '>', f.afterSeq)
      return (await q.orderBy('audit_events.seq').limit(f.limit).execute()).map(parse)
    },

    async checkpoints (options: { afterSeq?: string, fromSeq?: string, toSeq?: string, limit?: number } = {}): Promise<CheckpointRow[]> {
      let q = db.selectFrom('audit_checkpoints').select([
        sql<string>`seq::text`.as('seq'), 'head_hash as headHash', 'hash_alg as hashAlg', time('created_at').as('createdAt'),
        'reason', 'key_id as keyId', 'algorithm', 'signature'
      ])
      if (options.afterSeq !== undefined) q = q.where('seq', '>', options.afterSeq)
      if (options.fromSeq !== undefined) q = q.where('seq', '>=', options.fromSeq)
      if (options.toSeq !== undefined) q = q.where('seq', '<=', options.toSeq)
      q = q.orderBy('audit_checkpoints.seq')
      if (options.limit !== undefined) q = q.limit(options.limit)
      return await q.execute()
    },

    /** Who read or changed which dataset, how often and how many rows, per unit, over a period. */
    async accessReport (r: { from: string, to: string, unit?: string, dataset?: string, limit: number }) {
      let q = db.selectFrom('audit_events')
        .select([
          'actor_unit as unit', 'dataset_code as dataset', 'actor_sub as actor', 'action',
          sql<number>`count(*)::int`.as('events'), sql<string>`coalesce(sum(row_count), 0)::text`.as('rows'),
          sql<string>`to_char(min(occurred_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('first'),
          sql<string>`to_char(max(occurred_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('last')
        ])
        .where('occurred_at', '>=', sql<Date>`${r.from}::timestamptz`).where('occurred_at', '<', sql<Date>`${r.to}::timestamptz`)
        .where('dataset_code', 'is not', null)
        .where('action', 'in', [...ACCESS_ACTIONS])
      if (r.unit !== undefined) q = q.where('actor_unit', '=', r.unit)
      if (r.dataset !== undefined) q = q.where('dataset_code', '=', r.dataset)
      return await q.groupBy(['actor_unit', 'dataset_code', 'actor_sub', 'action'])
        .orderBy('actor_unit').orderBy('dataset_code').orderBy('actor_sub').orderBy('action').limit(r.limit).execute()
    },

    /** The monthly partitions of the log, oldest first, DEFAULT last, with the seqs each holds. */
    async partitions (q: Db = db): Promise<AuditPartition[]> {
      const result = await sql<AuditPartition>`
        select partition_name as name, ${time('lower_bound')} as "from", ${time('upper_bound')} as "to",
               first_seq::text as "firstSeq", last_seq::text as "lastSeq"
          from audit_partitions() order by lower_bound nulls last`.execute(q)
      return result.rows
    },

    /**
     * Partitions for this month and the next `monthsAhead` (migrations/0005 `audit_ensure_partitions`),
     * and for the months of any events the DEFAULT partition caught, which it moves there. Idempotent,
     * and serialised across processes by an advisory lock. Returns the partitions created.
     */
    async ensurePartitions (monthsAhead = 1): Promise<string[]> {
      const result = await sql<{ name: string }>`select audit_ensure_partitions(${monthsAhead}::int) as name`.execute(db)
      return result.rows.map((r) => r.name)
    },

    /**
     * Detaches and drops whole monthly partitions (`audit_drop_partitions`): the database refuses
     * any that ended less than 180 days ago, holds an event after `throughSeq`, or would leave an
     * event at or before it, and wants a checkpoint at `throughSeq`. Returns what it dropped.
     */
    async dropPartitions (trx: Transaction<Database>, names: string[], throughSeq: string | null) {
      const result = await sql<{ name: string, firstSeq: string | null, lastSeq: string | null }>`
        select partition_name as name, first_seq::text as "firstSeq", last_seq::text as "lastSeq"
          from audit_drop_partitions(${names}::text[], ${throughSeq}::bigint)`.execute(trx)
      return result.rows
    }
  }
}

export type AuditRepository = ReturnType<typeof createAuditRepository>
