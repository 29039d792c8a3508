// Owner: audit. The tamper-evident audit log: events in one global order (seq), each hashed with the
// previous event's hash; the chain head; signed checkpoints. Events are partitioned by the month (UTC)
// they were recorded in. The database itself refuses UPDATE, DELETE and TRUNCATE on events (every
// partition) and checkpoints; the one way out is the retention purge, which drops whole monthly
// partitions through `audit_drop_partitions`, and only those that ended more than 180 days ago.
// Also adds `audit_seq` to the platform's domain_events: the seq of the audit event a domain event
// was relayed into (null until then).
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('audit_events')
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('actor_sub', 'text', (c) => c.notNull())
    .addColumn('actor_unit', 'text')
    .addColumn('actor_roles', sql`text[]`, (c) => c.notNull())
    .addColumn('actor_client', 'text')
    .addColumn('actor_ip', 'text')
    .addColumn('object_type', 'text')
    .addColumn('object_id', 'text')
    .addColumn('dataset_code', 'text')
    .addColumn('fields', sql`text[]`)
    .addColumn('row_count', 'bigint')
    .addColumn('grant_id', 'text')
    .addColumn('request_id', 'text')
    .addColumn('domain_event_id', 'bigint')
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .addColumn('hash_alg', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    // a key of a partitioned table must hold its partition key; seq first, for the chain order
    .addPrimaryKeyConstraint('audit_events_pkey', ['seq', 'recorded_at'])
    .modifyEnd(sql`partition by range (recorded_at)`)
    .execute()
  for (const [name, columns] of [
    ['audit_events_actor_idx', ['actor_sub', 'seq']],
    ['audit_events_unit_idx', ['actor_unit', 'seq']],
    ['audit_events_dataset_idx', ['dataset_code', 'seq']],
    ['audit_events_action_idx', ['action', 'seq']]
  ] as const) {
    await db.schema.createIndex(name).on('audit_events').columns([...columns]).execute()
  }
  // times grow with seq: block-range indexes cost next to nothing to maintain (the alert rules read
  // the last minutes of recorded_at inside the month's partition)
  await sql`create index audit_events_occurred_idx on audit_events using brin (occurred_at)`.execute(db)
  await sql`create index audit_events_recorded_idx on audit_events using brin (recorded_at)`.execute(db)

  // one row: the last sealed event and the last checkpoint; writers lock it once per batch
  await db.schema.createTable('audit_chain_head')
    .addColumn('id', 'smallint', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('checkpoint_seq', 'bigint', (c) => c.notNull())
    .addColumn('checkpoint_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await sql`insert into audit_chain_head (id, seq, hash, checkpoint_seq, checkpoint_at)
            values (1, 0, ${'0'.repeat(64)}, 0, now())`.execute(db)

  await db.schema.createTable('audit_checkpoints')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('head_hash', 'text', (c) => c.notNull())
    .addColumn('hash_alg', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute()

  // alerts raised from the log: mutable (acknowledged), outside the chain; raising and
  // acknowledging are themselves recorded in the chain
  await db.schema.createTable('audit_alerts')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('actor_key', 'text', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('actor_sub', 'text', (c) => c.notNull())
    .addColumn('actor_unit', 'text')
    .addColumn('actor_ip', 'text')
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('window_end', 'timestamptz', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addColumn('first_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('acked_by', 'text')
    .addColumn('acked_at', 'timestamptz')
    .addColumn('note', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('audit_alerts_window_key', ['rule', 'actor_key', 'bucket'])
    .execute()

  await sql`
    create function audit_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        using errcode = 'insufficient_privilege';
    end $$`.execute(db)
  // row triggers on the partitioned table are cloned onto every partition, present and future;
  // TRUNCATE triggers are per table: audit_create_partition gives each partition its own
  for (const table of ['audit_events', 'audit_checkpoints']) {
    await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
              for each row execute function audit_append_only()`.execute(db)
    await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
              for each statement execute function audit_append_only()`.execute(db)
  }
  await partitionFunctions(db)

  // One batch of the group-commit writer: its rows first (concurrent batches insert in parallel),
  // then the head moves only if it is still where the batch was chained from; otherwise the whole
  // batch rolls back (SQLSTATE DG001) and the writer chains it again.
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

  await db.schema.alterTable('domain_events').addColumn('audit_seq', 'bigint').execute()
  await sql`create index domain_events_unrelayed_idx on domain_events (id) where audit_seq is null`.execute(db)

  // the DEFAULT partition catches what no month holds (a clock far off); audit_ensure_partitions
  // moves such events into their months
  await sql`create table audit_events_default partition of audit_events default`.execute(db)
  await sql`create trigger audit_events_no_truncate before truncate on audit_events_default
            for each statement execute function audit_append_only()`.execute(db)
  await sql`select audit_ensure_partitions(1)`.execute(db)
}

/** Serialises every change to the set of partitions (creation, adoption, purge) across processes. */
const PARTITION_LOCK = 5_000_501

/**
 * Partition upkeep, as functions that run as the tables' owner (SECURITY DEFINER), so that the
 * service can run as a role that owns nothing: it may create next months and drop expired ones
 * only on these functions' terms. Months are UTC; partitions are named audit_events_YYYY_MM.
 */
async function partitionFunctions (db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db)
  const settings = sql`set search_path = ${sql.id(rows[0]!.schema)}, pg_temp set timezone = 'UTC' set datestyle = 'ISO, YMD'`

  await sql`
    create function audit_create_partition(month timestamptz) returns boolean language plpgsql ${settings} as $$
    declare
      part text := 'audit_events_' || to_char(date_trunc('month', month), 'YYYY_MM');
      existing regclass := to_regclass(part);
    begin
      if existing is not null then
        if not exists (select 1 from pg_inherits where inhrelid = existing and inhparent = 'audit_events'::regclass) then
          raise exception '% exists but is not a partition of audit_events', part;
        end if;
        return false;
      end if;
      execute format('create table %I partition of audit_events for values from (%L) to (%L)',
                     part, date_trunc('month', month), date_trunc('month', month) + interval '1 month');
      execute format('create trigger audit_events_no_truncate before truncate on %I
                      for each statement execute function audit_append_only()', part);
      return true;
    end $$`.execute(db)

  // every partition, its bounds (null for DEFAULT) and the first and last seq it holds (through the key)
  await sql`
    create function audit_partitions()
    returns table (partition_name text, lower_bound timestamptz, upper_bound timestamptz, first_seq bigint, last_seq bigint)
    language plpgsql stable security definer ${settings} as $$
    declare
      p record;
    begin
      for p in select c.relname::text as relname, pg_get_expr(c.relpartbound, c.oid) as bound
                 from pg_inherits i join pg_class c on c.oid = i.inhrelid
                where i.inhparent = 'audit_events'::regclass loop
        partition_name := p.relname;
        lower_bound := (regexp_match(p.bound, 'FROM [(]''([^'']*)''[)]'))[1]::timestamptz;
        upper_bound := (regexp_match(p.bound, 'TO [(]''([^'']*)''[)]'))[1]::timestamptz;
        execute format('select min(seq), max(seq) from %I', p.relname) into first_seq, last_seq;
        return next;
      end loop;
    end $$`.execute(db)

  // This month and the next `months_ahead`, and a month for every event the DEFAULT partition
  // caught: it is detached, its events routed again into their months, and an empty one put back.
  await sql`
    create function audit_ensure_partitions(months_ahead integer) returns setof text
    language plpgsql security definer ${settings} as $$
    declare
      month timestamptz;
      moved bigint;
      held bigint;
    begin
      if months_ahead is null or months_ahead < 0 or months_ahead > 24 then
        raise exception 'months_ahead must be 0 to 24' using errcode = 'invalid_parameter_value';
      end if;
      perform pg_advisory_xact_lock(${sql.lit(PARTITION_LOCK)});
      if exists (select 1 from audit_events_default) then
        alter table audit_events detach partition audit_events_default;
        for month in select distinct date_trunc('month', recorded_at) from audit_events_default loop
          if audit_create_partition(month) then return next 'audit_events_' || to_char(month, 'YYYY_MM'); end if;
        end loop;
        insert into audit_events select * from audit_events_default;
        get diagnostics moved = row_count;
        select count(*) into held from audit_events_default;
        if moved <> held then
          raise exception 'moving % events out of audit_events_default moved %', held, moved;
        end if;
        drop table audit_events_default;
        create table audit_events_default partition of audit_events default;
        create trigger audit_events_no_truncate before truncate on audit_events_default
          for each statement execute function audit_append_only();
      end if;
      for month in select generate_series(date_trunc('month', now()), date_trunc('month', now()) + make_interval(months => months_ahead),
                                          interval '1 month') loop
        if audit_create_partition(month) then return next 'audit_events_' || to_char(month, 'YYYY_MM'); end if;
      end loop;
    end $$`.execute(db)

  // The retention purge: whole months that ended more than 180 days ago (whatever the caller asks),
  // holding no event after through_seq, with a checkpoint at through_seq, and leaving no event at or
  // before it: a prefix of the chain whose end stays vouched for.
  await sql`
    create function audit_drop_partitions(names text[], through_seq bigint)
    returns table (partition_name text, first_seq bigint, last_seq bigint)
    language plpgsql security definer ${settings} as $$
    declare
      p record;
    begin
      perform pg_advisory_xact_lock(${sql.lit(PARTITION_LOCK)});
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
    end $$`.execute(db)

  // run as the owner: whoever runs the service needs an explicit grant (as for the tables)
  for (const fn of ['audit_create_partition(timestamptz)', 'audit_partitions()', 'audit_ensure_partitions(integer)', 'audit_drop_partitions(text[], bigint)']) {
    await sql`revoke all on function ${sql.raw(fn)} from public`.execute(db)
  }
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index if exists domain_events_unrelayed_idx`.execute(db)
  await db.schema.alterTable('domain_events').dropColumn('audit_seq').execute()
  for (const table of ['audit_alerts', 'audit_checkpoints', 'audit_chain_head', 'audit_events']) await db.schema.dropTable(table).execute()
  await sql`drop function audit_append(bigint, text, jsonb, jsonb)`.execute(db)
  await sql`drop function audit_drop_partitions(text[], bigint)`.execute(db)
  await sql`drop function audit_ensure_partitions(integer)`.execute(db)
  await sql`drop function audit_partitions()`.execute(db)
  await sql`drop function audit_create_partition(timestamptz)`.execute(db)
  await sql`drop function audit_append_only()`.execute(db)
}
