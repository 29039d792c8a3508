import { sql, type RawBuilder } from 'kysely'
import { loadMasterKeys } from '../../platform/masters.js'
import type { Config } from '../../config.js'
import type { Dataset } from '../../db/database.js'
import { keyedDigest, type HashAlgorithm } from '../../platform/digest.js'
import type { AeadSuite } from '../../platform/aead.js'
import type { MasterKey } from '../../platform/master-key.js'

/**
 * AUDIT_PERSON_TRACE: which datasets' reads and exports record the persons they served. `sensitive`
 * (the default): datasets holding sensitive or children's personal information; `all`: every dataset
 * holding personal information; `off`: none but children's data, which is always traced (003 3(3):
 * every access to children's data recorded).
 */
export const PERSON_TRACE_MODES = ['all', 'sensitive', 'off'] as const
export type PersonTraceMode = typeof PERSON_TRACE_MODES[number]

/** The HKDF label of the trace key: one key for this use alone, never the signing or masking key. */
const TRACE_PURPOSE = 'audit-person-trace'
const HASHES: readonly HashAlgorithm[] = ['sha256', 'sm3']

type TraceFacts = Pick<Dataset, 'holds_pi' | 'sensitive_pi' | 'children_pi' | 'person_key'>

/** Whether the reads of a dataset are traced: it must name its person key (the field consents name persons by). */
export function isTraced (mode: PersonTraceMode, dataset: TraceFacts): boolean {
  if (dataset.person_key === null) return false
  if (dataset.children_pi) return true
  if (mode === 'off') return false
  if (mode === 'sensitive') return dataset.sensitive_pi
  return dataset.holds_pi || dataset.sensitive_pi
}

export interface PersonTracer {
  mode: PersonTraceMode
  /** the fingerprint of the trace key digests are made under now (records.person_digest_key) */
  keyId: number
  /** the tracing of a dataset's reads, or null when they are not traced */
  of (dataset: TraceFacts): PersonDigester | null
  /**
   * Every digest a person key may have been recorded under: under the current master key and,
   * during a rotation, the previous one; with HMAC-SHA256 and HMAC-SM3 (the setting may have
   * changed). The first is the one recorded today.
   */
  candidates (personKey: string): Buffer[]
}

/** A row read for the trace: its person key, and the digest of it made at ingest when it is under the current trace key (see `digestColumn`). */
export interface TracedRow { person_key?: string | null, person_digest?: Uint8Array | null }

export interface PersonDigester {
  /** the distinct digests of the person keys of rows (rows without one are nobody's) */
  persons (rows: readonly TracedRow[]): Buffer[]
  /** adds the digests of rows' person keys to `into` (person key → digest; in memory only), for exports that collect them over batches */
  collect (rows: readonly TracedRow[], into: Map<string, Buffer>): void
  /** the digest of one person key under the current trace key (what ingest stores in records.person_digest) */
  digest (personKey: string): Buffer
}

/**
 * The person tracer of a process: HMAC-SHA256 (HMAC-SM3 when the platform runs SM4) under a key
 * derived from the master key by HKDF with its own label. The keyed digest is prepared once per
 * process (its padded key states), so a row costs two one-shot hashes.
 */
export function createPersonTracer ({ mode, masters, suite }: { mode: PersonTraceMode, masters: readonly MasterKey[], suite: AeadSuite }): PersonTracer {
  if (masters.length === 0) throw new Error('the person-access trace needs a master key')
  const hashOf = (s: AeadSuite): HashAlgorithm => (s === 'sm4' ? 'sm3' : 'sha256')
  const current = hashOf(suite)
  const digestWith = (master: MasterKey, hash: HashAlgorithm) =>
    keyedDigest(hash, master.derive(TRACE_PURPOSE, { algorithm: hash === 'sm3' ? 'sm4' : 'aes-256-gcm' }), 'buffer')
  const digest = digestWith(masters[0]!, current)
  const all = masters.flatMap((m) => [current, ...HASHES.filter((h) => h !== current)].map((h) => digestWith(m, h)))
  // the key's fingerprint: the digest of a label no person key can be (it holds a NUL), as a 32-bit integer
  const keyId = digest('\u0000datagate-trace-key-id').readInt32BE(0)

  // distinct person keys first: a person with many rows on a page is digested once; a digest made
  // at ingest under the current key is taken as it is
  const collect: PersonDigester['collect'] = (rows, into) => {
    for (const row of rows) {
      const key = row.person_key
      if (key === null || key === undefined || into.has(key)) continue
      const made = row.person_digest
      // PGlite gives bytea as a Uint8Array, node-postgres as a Buffer
      into.set(key, made ? (Buffer.isBuffer(made) ? made : Buffer.from(made.buffer, made.byteOffset, made.byteLength)) : digest(key))
    }
  }
  const digester: PersonDigester = {
    persons (rows) {
      const seen = new Map<string, Buffer>()
      collect(rows, seen)
      return [...seen.values()]
    },
    collect,
    digest
  }
  return {
    mode,
    keyId,
    of: (dataset) => (isTraced(mode, dataset) ? digester : null),
    candidates: (personKey) => all.map((d) => d(personKey))
  }
}

/**
 * The tracer of a process's configuration, under its master keys (current first). Throws where there
 * is no master key: the encryption plugin has made the data dir's already where there is to be one.
 */
export function personTracerOf (config: Config): PersonTracer {
  return createPersonTracer({ mode: config.AUDIT_PERSON_TRACE, masters: loadMasterKeys(config, { generate: false }), suite: config.DATAGATE_CIPHER })
}

/** What a chained event says of its trace: how many persons it served (their digests are beside the chain). */
export const tracedPersons = (persons: readonly Buffer[] | null): { persons?: number } => (persons === null ? {} : { persons: persons.length })

/**
 * The column a read selects for the trace beside person_key: the digest made at ingest while it is
 * under the trace key this process holds (null otherwise: the row's person key is hashed then).
 */
export const digestColumn = (tracer: Pick<PersonTracer, 'keyId'>): RawBuilder<Buffer | null> =>
  sql<Buffer | null>`case when person_digest_key = ${tracer.keyId}::int then person_digest end`
