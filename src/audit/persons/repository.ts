import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/database.js'

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

/** The person-access trace (migrations/0020): audit_person_accesses beside the chained events. */
export function createPersonAccessRepository (db: Kysely<Database>) {
  return {
    /**
     * The events that served a person, newest first. One index range of (digest, seq) per digest,
     * each in seq order and stopped at the page size, merged; each access joins its event in the one
     * monthly partition its recorded_at names. Filters on the event (dataset, time) apply inside
     * each range, so a page is always full while matches remain.
     */
    async accesses (f: PersonAccessFilter): Promise<PersonAccessRow[]> {
      const conditions = [
        f.beforeSeq !== undefined ? sql`p.seq < ${f.beforeSeq}::bigint` : null,
        f.dataset !== undefined ? sql`e.dataset_code = ${f.dataset}` : null,
        // an event is recorded after it occurred (less a day for clocks that differ): months before are skipped
        f.from !== undefined ? sql`e.occurred_at >= ${f.from}::timestamptz and p.recorded_at >= ${f.from}::timestamptz - interval '1 day'` : null,
        f.to !== undefined ? sql`e.occurred_at < ${f.to}::timestamptz` : null
      ].filter((c) => c !== null)
      const where = conditions.length === 0 ? sql`` : sql`and ${sql.join(conditions, sql` and `)}`
      const ranges = f.digests.map((digest) => sql`(
        select e.seq, e.occurred_at, e.action, e.operation, e.dataset_code, e.actor_unit, e.actor_sub, e.actor_client, e.grant_id,
               e.details ->> 'purposeCode' as purpose_code, e.fields, e.details -> 'masked' as masked, case when e.object_type = 'export' then e.object_id end as export_id
          from audit_person_accesses p
          join audit_events e on e.seq = p.seq and e.recorded_at = p.recorded_at
         where p.digest = ${digest} ${where}
         order by p.seq desc limit ${f.limit})`)
      const result = await sql<PersonAccessRow>`
        select distinct on (r.seq) r.seq::text as seq, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
               action, operation, dataset_code, actor_unit, actor_sub, actor_client, grant_id, purpose_code, fields,
               case when jsonb_typeof(masked) = 'array' then array(select jsonb_array_elements_text(masked)) end as masked, export_id
          from (${sql.join(ranges, sql` union all `)}) r
         order by r.seq desc limit ${f.limit}`.execute(db)
      return result.rows
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
