// Owner: audit. The tamper-evident audit log: events in one global order (seq), each hashed with the
// previous event's hash; the chain head; signed checkpoints. The database itself refuses UPDATE,
// DELETE and TRUNCATE on events and checkpoints; the one way out is the retention purge, which sets
// `datagate.audit_purge` in its transaction and may delete only events recorded more than 180 days ago.
// Also adds `audit_seq` to the platform's domain_events: the seq of the audit event a domain event
// was relayed into (null until then).
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('audit_events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
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
    .execute()
  for (const [name, columns] of [
    ['audit_events_actor_idx', ['actor_sub', 'seq']],
    ['audit_events_unit_idx', ['actor_unit', 'seq']],
    ['audit_events_dataset_idx', ['dataset_code', 'seq']],
    ['audit_events_action_idx', ['action', 'seq']]
  ] as const) {
    await db.schema.createIndex(name).on('audit_events').columns([...columns]).execute()
  }
  // times grow with seq: block-range indexes cost next to nothing to maintain
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
      if TG_OP = 'DELETE' and TG_TABLE_NAME = 'audit_events' then
        if current_setting('datagate.audit_purge', true) = 'on' then
          if OLD.recorded_at < now() - interval '180 days' then
            return OLD;
          end if;
        end if;
      end if;
      raise exception 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        using errcode = 'insufficient_privilege';
    end $$`.execute(db)
  for (const table of ['audit_events', 'audit_checkpoints']) {
    await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
              for each row execute function audit_append_only()`.execute(db)
    await sql`create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
              for each statement execute function audit_append_only()`.execute(db)
  }

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
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index if exists domain_events_unrelayed_idx`.execute(db)
  await db.schema.alterTable('domain_events').dropColumn('audit_seq').execute()
  for (const table of ['audit_alerts', 'audit_checkpoints', 'audit_chain_head', 'audit_events']) await db.schema.dropTable(table).execute()
  await sql`drop function audit_append(bigint, text, jsonb, jsonb)`.execute(db)
  await sql`drop function audit_append_only()`.execute(db)
}
