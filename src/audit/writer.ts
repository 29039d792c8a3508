import type { Kysely } from 'kysely'
import type { Database } from '../db/database.js'
import type { SigningKey } from '../platform/auth/keys.js'
import { actionOfDomainEvent, type AppendResult, type AuditEventInput } from './events.js'
import { eventHash, microIso, signCheckpoint, type ChainedContent, type HashAlgorithm } from './hash-chain.js'
import { checkDigests } from './persons/stored.js'
import { createAuditRepository, type CheckpointRow, type DomainEventText, type PersonTrace, type StoredEvent } from './repository.js'

export interface AuditWriterOptions {
  db: Kysely<Database>
  hash: HashAlgorithm
  /** signs checkpoints; without it (a verifying-only process) none are written here */
  signingKey: SigningKey | null
  checkpointEvents: number
  checkpointSeconds: number
  /** most events sealed in one statement */
  maxBatch?: number
  /** batches in flight at once (1 on PGlite, whose one connection serialises them anyway) */
  pipeline?: number
  /** clock of recorded_at (tests of retention move it) */
  now?: () => Date
  onError?: (err: unknown, what: string) => void
}

interface Pending {
  content: Content
  persons: readonly Buffer[] | null
  resolve: (r: AppendResult) => void
  reject: (err: unknown) => void
}

interface Head { seq: bigint, hash: string, checkpointSeq: bigint }

const RELAY_BATCH = 500

type Content = Omit<ChainedContent, 'seq' | 'recordedAt' | 'hashAlg'>

/** The person traces of a batch's events, placed by their chained rows (the batch's events start at `offset`). */
function tracesOf (batch: readonly Pending[], rows: readonly StoredEvent[], offset = 0): PersonTrace[] {
  const traces: PersonTrace[] = []
  batch.forEach((p, i) => {
    if (p.persons && p.persons.length > 0) traces.push({ seq: rows[offset + i]!.seq, recordedAt: rows[offset + i]!.recordedAt, digests: p.persons })
  })
  return traces
}

/**
 * PostgreSQL stores no U+0000 in text or jsonb and no unpaired surrogate in jsonb, and one such
 * value would fail the whole batch it is written in (other callers' events with it). Hostile input
 * is recorded with U+FFFD in their place.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
const storable = (text: string): string => text.replaceAll('\u0000', '\ufffd').replace(LONE_SURROGATE, '\ufffd')
const storableOrNull = (text: string | null | undefined): string | null => (text === null || text === undefined ? null : storable(text))
/** JSON.stringify writes NUL and unpaired surrogates as escapes, and nothing else like them */
const ESCAPED_UNSTORABLE = /\\u0000|\\ud[89a-f]/i
/** Details as jsonb will give them back (undefined members dropped), every string and key storable. */
const storableJson = (value: unknown): unknown => {
  const text = JSON.stringify(value)
  return ESCAPED_UNSTORABLE.test(text) ? cleanedJson(value) : JSON.parse(text)
}
const cleanedJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_k, v: unknown) => {
  if (typeof v === 'string') return storable(v)
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v
  const keys = Object.keys(v)
  return keys.some((k) => storable(k) !== k) ? Object.fromEntries(keys.map((k) => [storable(k), (v as Record<string, unknown>)[k]])) : v
}))

/**
 * Group commit. Callers queue events and wait. A batch takes everything queued, is chained in
 * memory onto the head the previous batch will leave, and is written by one statement that
 * inserts it, moves the head and commits synchronously (one round trip) — or does nothing if the
 * head moved meanwhile (another process appended), in which case the batch is chained again in a
 * transaction that locks the head. Up to `pipeline` batches are in flight: the row lock on the head
 * orders them in the database, each commit carries many events, and nothing waits on a lock per
 * event. Committed domain events are relayed into the chain on every flush.
 */
export function createAuditWriter (options: AuditWriterOptions) {
  const { db, hash: hashAlg, signingKey } = options
  const maxBatch = options.maxBatch ?? 1000
  const pipeline = options.pipeline ?? 1
  const now = options.now ?? (() => new Date())
  const repo = createAuditRepository(db)
  const queue: Pending[] = []
  let predicted: Head | null = null // the head once every batch in flight has committed
  let inFlight = 0
  let exclusive = false // a locking transaction (relay, re-chain, checkpoint) runs alone
  let relayWanted = false
  let scheduled = false
  let idleWaiters: (() => void)[] = []
  const appendListeners: (() => void)[] = []
  const appended = () => { for (const l of appendListeners) l() }

  function content (e: AuditEventInput): Content {
    return {
      occurredAt: microIso(e.occurredAt ?? now()),
      service: e.service ?? 'platform',
      action: e.action,
      operation: storable(e.operation),
      outcome: e.outcome ?? (e.action === 'denied' ? 'denied' : 'success'),
      actorSub: storable(e.actor.sub),
      actorUnit: storableOrNull(e.actor.unit),
      actorRoles: [...(e.actor.roles ?? [])],
      actorClient: storableOrNull(e.actor.client),
      actorIp: e.actor.ip ?? null,
      objectType: e.objectType ?? null,
      objectId: storableOrNull(e.objectId),
      dataset: storableOrNull(e.dataset),
      fields: e.fields ? e.fields.map(storable) : null,
      rows: e.rows === undefined || e.rows === null ? null : String(Math.trunc(e.rows)),
      grantId: e.grantId ?? null,
      requestId: e.requestId ?? null,
      domainEventId: null,
      // what jsonb will give back: undefined members dropped, unstorable text replaced
      details: storableJson(e.details ?? {})
    }
  }

  function relayed (d: DomainEventText): Content {
    const details = JSON.parse(d.details) as Record<string, unknown>
    return {
      occurredAt: d.occurred_at,
      service: d.service,
      action: actionOfDomainEvent(d.action),
      operation: d.action,
      outcome: 'success',
      actorSub: d.actor_sub,
      actorUnit: d.actor_unit,
      actorRoles: [],
      actorClient: d.actor_client,
      actorIp: null,
      objectType: d.object_type,
      objectId: d.object_id,
      dataset: d.dataset_code,
      fields: null,
      rows: typeof details.accepted === 'number' ? String(details.accepted) : null,
      grantId: null,
      requestId: d.request_id,
      domainEventId: d.id,
      details
    }
  }

  function sign (seq: string, headHash: string, reason: string): CheckpointRow | null {
    if (!signingKey) return null
    const claim = { seq, headHash, hashAlg, createdAt: microIso(now()) }
    return { ...claim, reason, keyId: signingKey.kid, algorithm: signingKey.algorithm, signature: signCheckpoint(signingKey, claim) }
  }

  /** Chains contents onto `from`: the rows to insert, each event's place, the head after them. */
  function chain (from: Head, contents: Content[]) {
    const recordedAt = microIso(now())
    let seq = from.seq
    let prev = from.hash
    const rows: StoredEvent[] = contents.map((c) => {
      seq += 1n
      const full: ChainedContent = { ...c, seq: String(seq), recordedAt, hashAlg }
      const hash = eventHash(hashAlg, prev, full)
      const row = { ...full, prevHash: prev, hash }
      prev = hash
      return row
    })
    const due = seq - from.checkpointSeq >= BigInt(options.checkpointEvents)
    const checkpoint = due && rows.length > 0 ? sign(String(seq), prev, 'events') : null
    return { rows, checkpoint, head: { seq, hash: prev, checkpointSeq: checkpoint ? seq : from.checkpointSeq } }
  }

  /** The fast path: one statement, chained onto the predicted head. */
  async function sealFast (batch: Pending[], from: Head, chained: ReturnType<typeof chain>) {
    try {
      const moved = await repo.appendIfHead(db, { seq: String(from.seq), hash: from.hash }, chained.rows, chained.checkpoint, tracesOf(batch, chained.rows))
      if (moved) {
        appended()
        batch.forEach((p, i) => { p.resolve({ seq: chained.rows[i]!.seq, hash: chained.rows[i]!.hash }) })
        return
      }
      // another writer moved the head: chain these again, first in line
      predicted = null
      queue.unshift(...batch)
    } catch (err) {
      predicted = null
      for (const p of batch) p.reject(err)
    }
  }

  /** The locking path: relay domain events, and chain onto the head as it really is. */
  async function sealLocked (batch: Pending[]) {
    try {
      const results = await db.transaction().execute(async (trx) => {
        const locked = await repo.lockHead(trx)
        const from: Head = { seq: BigInt(locked.seq), hash: locked.hash, checkpointSeq: BigInt(locked.checkpointSeq) }
        const domain = await repo.unrelayed(trx, RELAY_BATCH)
        if (domain.length === RELAY_BATCH) relayWanted = true // more are waiting
        const chained = chain(from, [...domain.map(relayed), ...batch.map((p) => p.content)])
        if (chained.rows.length > 0) {
          await repo.markRelayed(trx, domain.map((d) => d.id), chained.rows.slice(0, domain.length).map((r) => r.seq))
          const traces = tracesOf(batch, chained.rows, domain.length)
          if (!await repo.appendIfHead(trx, locked, chained.rows, chained.checkpoint, traces)) throw new Error('audit chain head moved under its lock')
        }
        return { head: chained.head, rows: chained.rows.slice(domain.length), inserted: chained.rows.length }
      })
      predicted = results.head
      if (results.inserted > 0) appended()
      batch.forEach((p, i) => { p.resolve({ seq: results.rows[i]!.seq, hash: results.rows[i]!.hash }) })
    } catch (err) {
      predicted = null
      for (const p of batch) p.reject(err)
      if (batch.length === 0) options.onError?.(err, 'relaying domain events')
      throw err
    }
  }

  function pump () {
    scheduled = false
    if (exclusive) return
    if (relayWanted || (predicted === null && queue.length > 0)) {
      if (inFlight > 0) return // the locking path waits for the pipeline to empty
      relayWanted = false
      exclusive = true
      sealLocked(queue.splice(0, maxBatch)).catch(() => {}).finally(() => { exclusive = false; next() })
      return
    }
    while (predicted !== null && queue.length > 0 && inFlight < pipeline) {
      const batch = queue.splice(0, maxBatch)
      const from: Head = predicted
      const chained = chain(from, batch.map((p) => p.content))
      predicted = chained.head
      inFlight++
      sealFast(batch, from, chained).finally(() => { inFlight--; next() })
    }
    if (queue.length === 0 && inFlight === 0) {
      const waiters = idleWaiters
      idleWaiters = []
      for (const w of waiters) w()
    }
  }

  /** Next round on the next turn of the event loop, so that concurrent callers share a batch. */
  function next () {
    if (scheduled) return
    scheduled = true
    setImmediate(pump)
  }

  async function settled (): Promise<void> {
    if (queue.length === 0 && inFlight === 0 && !exclusive && !relayWanted) return
    await new Promise<void>((resolve) => { idleWaiters.push(resolve); next() })
    return await settled()
  }

  return {
    /** Records an event; resolves once it is committed in the chain (rejects if it cannot be). */
    async append (event: AuditEventInput): Promise<AppendResult> {
      const prepared = content(event) // an event that cannot be serialised fails here, alone
      if (event.persons) checkDigests(event.persons)
      return await new Promise<AppendResult>((resolve, reject) => {
        queue.push({ content: prepared, persons: event.persons ?? null, resolve, reject })
        next()
      })
    },

    /** Seals whatever is queued and every committed domain event not yet in the chain. */
    async flush (): Promise<void> {
      relayWanted = true
      next()
      await settled()
    },

    /**
     * Signs the chain head if it moved since the last checkpoint and `force` is set or the
     * checkpoint interval has passed. Returns the checkpoint's seq, or null.
     */
    async checkpoint ({ force = false, reason = 'interval' }: { force?: boolean, reason?: string } = {}): Promise<string | null> {
      if (!signingKey) return null
      await settled()
      return await db.transaction().execute(async (trx) => {
        const head = await repo.lockHead(trx)
        const age = now().getTime() - head.checkpointAt.getTime()
        if (head.seq === head.checkpointSeq || head.seq === '0') return null
        if (!force && age < options.checkpointSeconds * 1000) return null
        const checkpoint = sign(head.seq, head.hash, reason)!
        await repo.insertCheckpoint(trx, checkpoint)
        await repo.moveHead(trx, { seq: head.seq, hash: head.hash, checkpointSeq: head.seq, checkpointAt: checkpoint.createdAt })
        if (predicted) predicted = { ...predicted, checkpointSeq: BigInt(head.seq) }
        return head.seq
      })
    },

    /** Calls `listener` after each batch committed by this writer. */
    onAppended (listener: () => void) {
      appendListeners.push(listener)
    },

    /** Waits until nothing is queued or in flight (shutdown). */
    idle: settled
  }
}

export type AuditWriter = ReturnType<typeof createAuditWriter>
