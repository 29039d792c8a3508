// Owner: audit. The person-access trace of 0020 stored one row and one random B-tree entry per
// person and event: about 15 µs of PostgreSQL time per person on the read path. It becomes one row
// per event, searched through a GIN index:
// - audit_person_reads: (seq, recorded_at) of the event that served the persons; `digests`, their
//   keyed digests truncated to 16 bytes (HMAC-SHA256 or HMAC-SM3 truncated to 128 bits), concatenated;
//   `prefixes`, the first four bytes of each digest as a signed big-endian integer, in the same
//   order: the keys of the GIN index. A lookup finds candidates by prefix and keeps only the rows
//   holding the whole 16-byte digest at a prefix's position, so two persons sharing a prefix are
//   never confused. Integer keys: the index merge costs half of what 16-byte keys cost, and Node
//   writes them as plain numbers.
// - The GIN index takes new keys into its pending list (fast update: one sequential append per event);
//   the audit log's background work merges the list into the index off the append path
//   (audit_merge_person_reads: gin_clean_pending_list as the index's owner, EXECUTE revoked from
//   PUBLIC like the partition functions of 0005), and a list that outgrows gin_pending_list_limit
//   is merged by the insert that fills it.
// - Outside the hash chain, written by the same call of audit_append as the event; append-only like
//   the log (UPDATE and TRUNCATE refused, DELETE only of rows whose event is gone: the retention
//   purge, which audit_drop_partitions now makes here).
// - The rows of audit_person_accesses move here (their digests truncated to 16 bytes, which is what
//   a lookup now compares), and that table is dropped. Down moves them back, 16 bytes each: the
//   lookup of 0020 compares 32-byte digests and finds none of them.
import { sql, type Kysely } from 'kysely'

/** Merged into the index by the insert that fills it beyond this many kB (an explicit merge normally comes first). */
const PENDING_LIST_KB = 16_384

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('audit_person_reads')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addColumn('prefixes', sql`integer[]`, (c) => c.notNull())
    .addColumn('digests', 'bytea', (c) => c.notNull())
    .addCheckConstraint('audit_person_reads_digests_check', sql`length(digests) = 16 * cardinality(prefixes)`)
    .execute()
  // digests are random: never worth compressing; a 100-person page (about 2 kB) stays in its row
  await sql`alter table audit_person_reads alter column prefixes set storage external, alter column digests set storage external,
            set (toast_tuple_target = 8160)`.execute(db)
  await sql`create index audit_person_reads_prefixes on audit_person_reads using gin (prefixes)
            with (fastupdate = on, gin_pending_list_limit = ${sql.lit(PENDING_LIST_KB)})`.execute(db)

  await appendOnly(db, 'audit_person_reads')

  // a digest's first four bytes as a signed integer (int4 shifts wrap instead of overflowing)
  const prefix = (d: string) => sql.raw(`(get_byte(${d}, 0) << 24) | (get_byte(${d}, 1) << 16) | (get_byte(${d}, 2) << 8) | get_byte(${d}, 3)`)
  await sql`
    insert into audit_person_reads (seq, recorded_at, prefixes, digests)
    select seq, min(recorded_at), array_agg(${prefix('digest')} order by digest), string_agg(substring(digest from 1 for 16), ''::bytea order by digest)
      from audit_person_accesses group by seq`.execute(db)
  await db.schema.dropTable('audit_person_accesses').execute()
  await sql`drop function audit_person_accesses_guard()`.execute(db)

  await appendFunction(db, sql`
    insert into audit_person_reads (seq, recorded_at, prefixes, digests)
    select x.s, x.r, x.p, decode(x.d, 'hex') from jsonb_to_recordset(traces) as x(s bigint, r timestamptz, p integer[], d text);`)
  await dropPartitions(db, 'audit_person_reads')

  // the merge of the pending list, as the index's owner (gin_clean_pending_list asks for ownership);
  // the number of pending-list pages merged
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
  await sql`
    create function audit_merge_person_reads() returns bigint
    language sql security definer set search_path = ${sql.id(rows[0]!.schema)}, pg_temp as $$
      select gin_clean_pending_list('audit_person_reads_prefixes'::regclass)
    $$`.execute(db)
  await sql`revoke all on function audit_merge_person_reads() from public`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop function audit_merge_person_reads()`.execute(db)
  await db.schema.createTable('audit_person_accesses')
    .addColumn('digest', 'bytea', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_person_accesses_pkey', ['digest', 'seq'])
    .execute()
  await sql`
    insert into audit_person_accesses (digest, seq, recorded_at)
    select substring(r.digests from i * 16 + 1 for 16), r.seq, r.recorded_at
      from audit_person_reads r, generate_series(0, cardinality(r.prefixes) - 1) as i`.execute(db)
  await appendOnly(db, 'audit_person_accesses')

  await appendFunction(db, sql`
    insert into audit_person_accesses (digest, seq, recorded_at)
    select substring(t.b from i * 32 + 1 for 32), t.s, t.r
      from (select x.s, x.r, decode(x.d, 'hex') as b from jsonb_to_recordset(traces) as x(s bigint, r timestamptz, d text) offset 0) t,
           generate_series(0, length(t.b) / 32 - 1) as i;`)
  await dropPartitions(db, 'audit_person_accesses')
  await db.schema.dropTable('audit_person_reads').execute()
  await sql`drop function audit_person_reads_guard()`.execute(db)
}

/**
 * The guards of 0020 on a trace table: UPDATE and TRUNCATE refused, a DELETE only of rows whose event
 * is no longer in the log (`<table>_guard()`, a statement trigger over the deleted rows).
 */
async function appendOnly (db: Kysely<any>, table: 'audit_person_reads' | 'audit_person_accesses'): Promise<void> {
  await sql`
    create function ${sql.id(`${table}_guard`)}() returns trigger language plpgsql as $$
    begin
      -- only up to the last seq deleted: an index range of each partition, empty after a purge
      if exists (select 1 from gone g join audit_events e on e.seq = g.seq where e.seq <= (select max(seq) from gone)) then
        raise exception 'the person-access trace of an event still in the audit log cannot be deleted'
          using errcode = 'insufficient_privilege';
      end if;
      return null;
    end $$`.execute(db)
  await sql`create trigger ${sql.id(`${table}_append_only`)} before update on ${sql.table(table)}
            for each row execute function audit_append_only()`.execute(db)
  await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
            for each statement execute function audit_append_only()`.execute(db)
  await sql`create trigger ${sql.id(`${table}_delete_guard`)} after delete on ${sql.table(table)}
            referencing old table as gone for each statement execute function ${sql.id(`${table}_guard`)}()`.execute(db)
}

/**
 * audit_append of migration 0020 with `insertTraces` writing the batch's traces. Up: traces are
 * [{s: seq, r: recorded_at, p: the prefixes (an array literal), d: the 16-byte digests as one hex string}].
 */
async function appendFunction (db: Kysely<any>, insertTraces: ReturnType<typeof sql>): Promise<void> {
  await sql`
    create or replace function audit_append(from_seq bigint, from_hash text, events jsonb, checkpoints jsonb, traces jsonb) returns void
    language plpgsql as $$
    declare
      last_seq bigint;
      last_hash text;
      new_checkpoint record;
    begin
      perform set_config('synchronous_commit', 'on', true);
      insert into audit_events select * from jsonb_populate_recordset(null::audit_events, events);
      insert into audit_checkpoints select * from jsonb_populate_recordset(null::audit_checkpoints, checkpoints);
      if jsonb_array_length(traces) > 0 then
        ${insertTraces}
      end if;
      select (events -> -1 ->> 'seq')::bigint, events -> -1 ->> 'hash' into last_seq, last_hash;
      select seq, created_at into new_checkpoint from jsonb_populate_recordset(null::audit_checkpoints, checkpoints) limit 1;
      update audit_chain_head set seq = last_seq, hash = last_hash,
             checkpoint_seq = coalesce(new_checkpoint.seq, checkpoint_seq),
             checkpoint_at = coalesce(new_checkpoint.created_at, checkpoint_at)
       where id = 1 and seq = from_seq and hash = from_hash;
      if not found then
        raise exception 'audit chain head moved' using errcode = 'DG001';
      end if;
    end $$`.execute(db)
}

/** audit_drop_partitions of migration 0020, removing the traces of the events it dropped from `traces`. */
async function dropPartitions (db: Kysely<any>, traces: 'audit_person_reads' | 'audit_person_accesses'): Promise<void> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
  const settings = sql`set search_path = ${sql.id(rows[0]!.schema)}, pg_temp set timezone = 'UTC' set datestyle = 'ISO, YMD'`
  await sql`
    create or replace function audit_drop_partitions(names text[], through_seq bigint)
    returns table (partition_name text, first_seq bigint, last_seq bigint)
    language plpgsql security definer ${settings} as $$
    declare
      p record;
    begin
      perform pg_advisory_xact_lock(5000501);
      if through_seq is not null and not exists (select 1 from audit_checkpoints c where c.seq = through_seq) then
        raise exception 'no checkpoint at %: the purge boundary must be signed first', through_seq using errcode = 'insufficient_privilege';
      end if;
      for p in select * from audit_partitions() a where a.partition_name = any(names) order by a.lower_bound loop
        if p.upper_bound is null or p.upper_bound > now() - interval '180 days' then
          raise exception 'audit partition % holds events of the last 180 days: refused', p.partition_name
            using errcode = 'insufficient_privilege';
        end if;
        if p.last_seq > through_seq or (through_seq is null and p.last_seq is not null) then
          raise exception 'audit partition % holds events after %: refused', p.partition_name, through_seq
            using errcode = 'insufficient_privilege';
        end if;
        execute format('alter table audit_events detach partition %I', p.partition_name);
        execute format('drop table %I', p.partition_name);
        partition_name := p.partition_name;
        first_seq := p.first_seq;
        last_seq := p.last_seq;
        return next;
      end loop;
      if through_seq is not null and exists (select 1 from audit_events e where e.seq <= through_seq) then
        raise exception 'events up to % would remain: not a prefix of the chain', through_seq using errcode = 'insufficient_privilege';
      end if;
      if through_seq is not null then
        delete from ${sql.table(traces)} a where a.seq <= through_seq;
      end if;
    end $$`.execute(db)
}
