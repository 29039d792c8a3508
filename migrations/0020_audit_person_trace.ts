// Owner: audit. The person-access trace (003 3(1), 3(3): the person's right to know who used their
// data): which persons' rows each data response and export served, as keyed digests of their person
// keys (HMAC under a key derived from the master key for this use alone; never a raw person key).
// - audit_person_accesses: (digest, seq) → the audit event that served the person, with the
//   event's recorded_at so that the join to audit_events touches one monthly partition. Outside the
//   hash chain (the chain's event records how many persons it traced), written in the same call of
//   audit_append as the event itself. Append-only like the log: UPDATE and TRUNCATE are refused, and
//   a DELETE only of rows whose event is gone (the retention purge).
// - audit_append gains the traces of its batch (replaces the four-argument form of 0005).
// - audit_drop_partitions also removes the traces of the events it dropped.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('audit_person_accesses')
    .addColumn('digest', 'bytea', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_person_accesses_pkey', ['digest', 'seq'])
    .execute()
  // no index on seq alone: every read would pay for it, and only the monthly purge (a scan) uses it

  await sql`
    create function audit_person_accesses_guard() returns trigger language plpgsql as $$
    begin
      -- only up to the last seq deleted: an index range of each partition, empty after a purge
      if exists (select 1 from gone g join audit_events e on e.seq = g.seq where e.seq <= (select max(seq) from gone)) then
        raise exception 'the person-access trace of an event still in the audit log cannot be deleted'
          using errcode = 'insufficient_privilege';
      end if;
      return null;
    end $$`.execute(db)
  await sql`create trigger audit_person_accesses_append_only before update on audit_person_accesses
            for each row execute function audit_append_only()`.execute(db)
  await sql`create trigger audit_person_accesses_no_truncate before truncate on audit_person_accesses
            for each statement execute function audit_append_only()`.execute(db)
  await sql`create trigger audit_person_accesses_delete_guard after delete on audit_person_accesses
            referencing old table as gone for each statement execute function audit_person_accesses_guard()`.execute(db)

  await sql`drop function audit_append(bigint, text, jsonb, jsonb)`.execute(db)
  // traces: [{s: seq, r: recorded_at, d: the event's digests, 32 bytes each, as one hex string}]
  await sql`
    create function audit_append(from_seq bigint, from_hash text, events jsonb, checkpoints jsonb, traces jsonb) returns void
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
        -- decoded once per event (offset 0 keeps the planner from decoding again per digest): a
        -- substring of bytea is a slice, one of text walks the characters before it
        insert into audit_person_accesses (digest, seq, recorded_at)
        select substring(t.b from i * 32 + 1 for 32), t.s, t.r
          from (select x.s, x.r, decode(x.d, 'hex') as b from jsonb_to_recordset(traces) as x(s bigint, r timestamptz, d text) offset 0) t,
               generate_series(0, length(t.b) / 32 - 1) as i;
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

  await dropPartitions(db, true)
}

/** audit_drop_partitions of migration 0005, with (`traced`) or without the removal of the traces. */
async function dropPartitions (db: Kysely<any>, traced: boolean): Promise<void> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
  const settings = sql`set search_path = ${sql.id(rows[0]!.schema)}, pg_temp set timezone = 'UTC' set datestyle = 'ISO, YMD'`
  const traces = traced
    ? sql`if through_seq is not null then
            delete from audit_person_accesses a where a.seq <= through_seq;
          end if;`
    : sql``
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
      ${traces}
    end $$`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await dropPartitions(db, false)
  await sql`drop function audit_append(bigint, text, jsonb, jsonb, jsonb)`.execute(db)
  await sql`
    create function audit_append(from_seq bigint, from_hash text, events jsonb, checkpoints jsonb) returns void
    language plpgsql as $$
    declare
      last_seq bigint;
      last_hash text;
      new_checkpoint record;
    begin
      perform set_config('synchronous_commit', 'on', true);
      insert into audit_events select * from jsonb_populate_recordset(null::audit_events, events);
      insert into audit_checkpoints select * from jsonb_populate_recordset(null::audit_checkpoints, checkpoints);
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
  await db.schema.dropTable('audit_person_accesses').execute()
  await sql`drop function audit_person_accesses_guard()`.execute(db)
}
