// The person trace's index takes new keys into its pending list; the audit log merges the list into
// the index in its background work (src/audit/persons/merge.ts), not in the append a read waits for.
import { sql } from 'kysely'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { createTraceMerge, MERGE_EVERY_MS, MERGE_PERSONS } from '../../src/audit/persons/merge.js'
import { createPersonAccessRepository } from '../../src/audit/persons/repository.js'
import { build } from '../helpers/build.js'

t.test('when a merge is due', async (t) => {
  let clock = 1_000_000
  let merges = 0
  const merge = createTraceMerge(async () => { merges++ }, () => clock)
  t.equal(await merge.mergeIfDue(), false, 'nothing traced, nothing to merge')
  merge.traced(0)
  clock += MERGE_EVERY_MS
  t.equal(await merge.mergeIfDue(), false, 'an event that traced nobody starts no clock')

  merge.traced(10)
  clock += MERGE_EVERY_MS - 1
  merge.traced(MERGE_PERSONS - 11)
  t.equal(await merge.mergeIfDue(), false, 'fewer persons than MERGE_PERSONS, not yet MERGE_EVERY_MS after the first')
  clock += 1
  t.equal(await merge.mergeIfDue(), true, 'MERGE_EVERY_MS after the first person traced')
  t.equal(merges, 1)
  t.equal(await merge.mergeIfDue(), false, 'and then nothing until more are traced')

  merge.traced(MERGE_PERSONS)
  t.equal(await merge.mergeIfDue(), true, 'MERGE_PERSONS persons: at once')
  t.equal(merges, 2)
})

t.test('the audit log merges the pending list in its background work once MERGE_PERSONS persons are traced', async (t) => {
  const h = await build(t)
  const db = h.database.db
  // the merge function, counting its calls
  await sql`create table test_merges (pages bigint not null)`.execute(db)
  await sql`create or replace function audit_merge_person_reads() returns bigint language plpgsql as $$
    declare pages bigint := gin_clean_pending_list('audit_person_reads_prefixes'::regclass);
    begin insert into test_merges values (pages); return pages; end $$`.execute(db)
  const log = auditLogOf(db)!
  const digest = (n: number) => {
    const d = Buffer.alloc(32)
    d.writeUInt32BE(n, 0)
    d.writeUInt32BE(n, 12)
    return d
  }
  // as an export records them: parts of 50,000 persons
  const part = 50_000
  for (let from = 0; from < MERGE_PERSONS; from += part) {
    await log.append({ action: 'export', operation: 'data.export.write', actor: { sub: 'u', unit: 'CS' }, dataset: 'health', rows: 0, persons: Array.from({ length: part }, (_, i) => digest(from + i)) })
  }
  const merged = async () => (await sql<{ pages: string }>`select coalesce(sum(pages), 0)::text as pages from test_merges`.execute(db)).rows[0]!.pages
  for (let i = 0; i < 300 && await merged() === '0'; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.not(await merged(), '0', 'merged pending-list pages, without being asked')
  const repo = createPersonAccessRepository(db)
  t.equal((await repo.accesses({ digests: [digest(MERGE_PERSONS - 1)], limit: 10 })).length, 1, 'the last person traced is found')
})
