import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { storedDigest, tracePrefix } from './stored.js'

export interface PersonAccessFilter {
  /** every digest the person may be traced under (trace.ts: candidates) */
  digests: readonly Buffer[]
  dataset?: string | undefined
  from?: string | undefined
  to?: string | undefined
  /** the seq of the last access of the previous page (newest first) */
  beforeSeq?: string | undefined
  limit: number
}

export interface PersonAccessRow {
  seq: string
  occurred_at: string
  action: string
  operation: string
  dataset_code: string
  actor_unit: string | null
  actor_sub: string
  actor_client: string | null
  grant_id: string | null
  purpose_code: string | null
  fields: string[] | null
  masked: string[] | null
  export_id: string | null
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The person-access trace (migrations/0026): audit_person_reads beside the chained events. */
export function createPersonAccessRepository (db: Kysely<Database>) {
  return {
    /**
     * The events that served a person, newest first. The GIN index gives the events holding one of
     * the candidates' prefixes; of those, only the rows holding a whole candidate digest at a
     * prefix's position count. They are collected first (materialized: never a backward walk of
     * the whole trace in seq order that the planner might hope to stop early), then joined in seq
     * order, each to its event in the one monthly partition its recorded_at names, until the page
     * is full. Filters on the event (dataset, time) apply in the join, so a page is always full
     * while matches remain.
     */
    async accesses (f: PersonAccessFilter): Promise<PersonAccessRow[]> {
      const prefixes = f.digests.map(tracePrefix)
      const digests = f.digests.map((d) => storedDigest(d).toString('hex'))
      const traced = [
        f.beforeSeq !== undefined ? sql`and p.seq < ${f.beforeSeq}::bigint` : sql``,
        // an event is recorded after it occurred (less a day for clocks that differ): months before are skipped
        f.from !== undefined ? sql`and p.recorded_at >= ${f.from}::timestamptz - interval '1 day'` : sql``
      ]
      const conditions = [
        f.dataset !== undefined ? sql`e.dataset_code = ${f.dataset}` : null,
        f.from !== undefined ? sql`e.occurred_at >= ${f.from}::timestamptz` : null,
        f.to !== undefined ? sql`e.occurred_at < ${f.to}::timestamptz` : null
      ].filter((c) => c !== null)
      const where = conditions.length === 0 ? sql`` : sql`and ${sql.join(conditions, sql` and `)}`
      const result = await sql<PersonAccessRow>`
        with traced as materialized (
          select p.seq, p.recorded_at from audit_person_reads p
           where p.prefixes && ${prefixes}::integer[] ${sql.join(traced, sql` `)}
             and exists (select from unnest(${prefixes}::integer[], ${digests}::text[]) as c(prefix, digest),
                                     unnest(array_positions(p.prefixes, c.prefix)) as i
                          where substring(p.digests from i * 16 - 15 for 16) = decode(c.digest, 'hex')))
        select e.seq::text as seq, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
               e.action, e.operation, e.dataset_code, e.actor_unit, e.actor_sub, e.actor_client, e.grant_id, e.details ->> 'purposeCode' as purpose_code, e.fields,
               case when jsonb_typeof(e.details -> 'masked') = 'array' then array(select jsonb_array_elements_text(e.details -> 'masked')) end as masked,
               case when e.object_type = 'export' then e.object_id end as export_id
          from (select seq, recorded_at from traced order by seq desc) p
          cross join lateral (select * from audit_events e where e.seq = p.seq and e.recorded_at = p.recorded_at ${where}) e
         order by p.seq desc limit ${f.limit}`.execute(db)
      return result.rows
    },

    /**
     * Merges the index's pending list (the keys of the traces written since the last merge) into the
     * index, off the append path; the pages merged. It also takes what is appended while it runs: a
     * merge stopped by the statement timeout keeps what it merged, and the next one goes on.
     */
    async mergePending (): Promise<number> {
      const { rows } = await sql<{ pages: string }>`select audit_merge_person_reads()::text as pages`.execute(db)
      return Number(rows[0]!.pages)
    },

    /** The purposes of grants, by id (ids that are not a grant's are left out). */
    async purposes (grantIds: readonly (string | null)[]): Promise<Map<string, string>> {
      const ids = [...new Set(grantIds.filter((id): id is string => id !== null && UUID.test(id)))]
      if (ids.length === 0) return new Map()
      const rows = await db.selectFrom('grants').select(['id', 'purpose']).where('id', 'in', ids).execute()
      return new Map(rows.map((r) => [r.id, r.purpose]))
    }
  }
}

export type PersonAccessRepository = ReturnType<typeof createPersonAccessRepository>
