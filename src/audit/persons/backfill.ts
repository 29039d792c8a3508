import { setTimeout as sleep } from 'node:timers/promises'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import type { PersonTracer } from './trace.js'

const BATCH = 1000

export interface DigestBackfill { dataset: string, records: number }

/**
 * The person digests ingest did not make (records.person_digest, migration 0025): records of a
 * traced dataset stored before that migration, while the dataset was not traced, or under another
 * trace key (the master key rotated) get the digest of their person key under the current one, a
 * thousand records per transaction in key order, each batch under the dataset's row lock as ingest
 * takes it. A read takes a row's digest from the row and hashes the person key only where there is
 * none under the current key: this moves that work off the read path. What a read records is the
 * same either way.
 *
 * `done` remembers, per process, the datasets already brought to a trace key, so that a later run
 * does not scan them again: ingest in a process that traces the dataset writes the digest itself.
 * Once `signal` is aborted it stops after the batch under way. `rest`: as the encryption sweep's
 * (PGlite's one connection).
 */
export async function backfillPersonDigests (
  db: Kysely<Database>,
  tracer: Pick<PersonTracer, 'keyId' | 'of'>,
  done: Set<string>,
  { signal, rest = 0 }: { signal?: AbortSignal, rest?: number } = {}
): Promise<DigestBackfill[]> {
  const datasets = await db.selectFrom('datasets')
    .select(['code', 'holds_pi', 'sensitive_pi', 'children_pi', 'person_key'])
    .where('status', '<>', 'destroyed').where('person_key', 'is not', null)
    .orderBy('code').execute()
  const filled: DigestBackfill[] = []
  for (const d of datasets) {
    const digester = tracer.of(d)
    const mark = `${d.code}|${tracer.keyId}`
    if (!digester || done.has(mark)) continue
    let records = 0
    let after: string | null = null
    for (;;) {
      if (signal?.aborted) return filled
      const started = performance.now()
      const n: number = await db.transaction().execute(async (trx) => {
        await trx.selectFrom('datasets').select('code').where('code', '=', d.code).forUpdate().execute()
        const { rows } = await sql<{ record_key: string, person_key: string }>`
          select record_key, person_key from records
           where dataset_code = ${d.code} ${after === null ? sql`` : sql`and record_key > ${after}`}
             and person_key is not null and person_digest_key is distinct from ${tracer.keyId}::int
           order by record_key limit ${BATCH}`.execute(trx)
        if (rows.length === 0) return 0
        await sql`
          update records r set person_digest = decode(u.d, 'hex'), person_digest_key = ${tracer.keyId}::int
            from unnest(${rows.map((r) => r.record_key)}::text[], ${rows.map((r) => r.person_key)}::text[],
                        ${rows.map((r) => digester.digest(r.person_key).toString('hex'))}::text[]) as u(k, p, d)
           where r.dataset_code = ${d.code} and r.record_key = u.k and r.person_key = u.p`.execute(trx)
        after = rows[rows.length - 1]!.record_key
        return rows.length
      })
      if (n === 0) break
      records += n
      if (rest > 0) await sleep((performance.now() - started) * rest, undefined, { signal }).catch(() => {})
    }
    done.add(mark)
    if (records > 0) filled.push({ dataset: d.code, records })
  }
  return filled
}
