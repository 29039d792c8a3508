// Owner: audit. audit_append (0005, 0020, 0026) inserted a batch's events and person traces first and
// moved the chain head last, only if it was still where the batch was chained from. Two processes
// of one deployment (WORKERS > 1, or scaled-out services) that chained batches from the same head
// then inserted the same sequence numbers at once: the second waited on the first's person-trace
// keys and failed with a unique violation instead of "the head moved", or, against a writer on the
// locking path (which locks the head, then inserts), deadlocked; either way its requests got 503.
// Now the function locks the head row first and checks it before writing anything: a writer whose
// head has moved gets DG001 at once, with nothing inserted, and chains its batch again; batches of one
// process in flight at once (the pipeline) wait for the head in turn, as their commits did before.
import { sql, type Kysely } from 'kysely'

const TRACES = sql`
        insert into audit_person_reads (seq, recorded_at, prefixes, digests)
        select x.s, x.r, x.p, decode(x.d, 'hex') from jsonb_to_recordset(traces) as x(s bigint, r timestamptz, p integer[], d text);`

export async function up (db: Kysely<any>): Promise<void> {
  await appendFunction(db, true)
}

/** The function of 0026: inserts first, the head checked and moved last. */
export async function down (db: Kysely<any>): Promise<void> {
  await appendFunction(db, false)
}

/** audit_append as 0026 left it, or (`headFirst`) locking and checking the head before it writes. */
async function appendFunction (db: Kysely<any>, headFirst: boolean): Promise<void> {
  // the head first: whoever chained from it appends; anyone else learns it moved before writing
  const before = headFirst
    ? sql`select seq, hash into head from audit_chain_head where id = 1 for update;
      if head.seq is distinct from from_seq or head.hash is distinct from from_hash then
        raise exception 'audit chain head moved' using errcode = 'DG001';
      end if;`
    : sql``
  const after = headFirst
    ? sql`where id = 1;`
    : sql`where id = 1 and seq = from_seq and hash = from_hash;
      if not found then
        raise exception 'audit chain head moved' using errcode = 'DG001';
      end if;`
  await sql`
    create or replace function audit_append(from_seq bigint, from_hash text, events jsonb, checkpoints jsonb, traces jsonb) returns void
    language plpgsql as $$
    declare
      head record;
      last_seq bigint;
      last_hash text;
      new_checkpoint record;
    begin
      perform set_config('synchronous_commit', 'on', true);
      ${before}
      insert into audit_events select * from jsonb_populate_recordset(null::audit_events, events);
      insert into audit_checkpoints select * from jsonb_populate_recordset(null::audit_checkpoints, checkpoints);
      if jsonb_array_length(traces) > 0 then
        ${TRACES}
      end if;
      select (events -> -1 ->> 'seq')::bigint, events -> -1 ->> 'hash' into last_seq, last_hash;
      select seq, created_at into new_checkpoint from jsonb_populate_recordset(null::audit_checkpoints, checkpoints) limit 1;
      update audit_chain_head set seq = last_seq, hash = last_hash,
             checkpoint_seq = coalesce(new_checkpoint.seq, checkpoint_seq),
             checkpoint_at = coalesce(new_checkpoint.created_at, checkpoint_at)
       ${after}
    end $$`.execute(db)
}
