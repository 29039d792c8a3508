// migrations/0016_dataset_grading_review.ts on a database of the release before it: datasets
// published then count as confirmed (by 'migration'), drafts wait for the office.
import t from 'tap'
import { migrateToLatest } from '../../src/db/migrator.js'
import { databaseBefore, legacyDataset } from '../helpers/older-database.js'

t.test('an older catalog upgrades: published datasets are confirmed, drafts proposed', async (t) => {
  const { db } = await databaseBefore(t, '0016_dataset_grading_review')

  await db.insertInto('units').values({ code: 'CS', name: 'CS', officer_name: 'n', officer_contact: 'c' }).execute()
  const publishedAt = new Date('2026-05-01T08:00:00.000Z')
  const dataset = (code: string, status: string) => legacyDataset(code, { status, published_at: status === 'draft' ? null : publishedAt })
  await db.insertInto('datasets').values([dataset('live', 'published'), dataset('old', 'retired'), dataset('wip', 'draft')]).execute()

  await migrateToLatest(db)
  const rows = await db.selectFrom('datasets')
    .select(['code', 'grading_status', 'grading_decided_by', 'grading_decided_at', 'grading_proposal', 'collection'])
    .orderBy('code').execute()
  t.match(rows, [
    { code: 'live', grading_status: 'confirmed', grading_decided_by: 'migration', grading_proposal: null, collection: null },
    { code: 'old', grading_status: 'confirmed', grading_decided_by: 'migration' },
    { code: 'wip', grading_status: 'proposed', grading_decided_by: null, grading_decided_at: null }
  ])
  t.equal(rows[0]!.grading_decided_at?.toISOString(), publishedAt.toISOString(), 'confirmed when it was published')
  await t.rejects(db.updateTable('datasets').set({ grading_proposal: JSON.stringify({ changes: {} }) }).where('code', '=', 'live').execute(),
    { code: '23514' }, 'a waiting proposal goes with the status proposed')
  await t.rejects(db.updateTable('datasets').set({ grading_status: 'maybe' }).where('code', '=', 'live').execute(), { code: '23514' })
})
