// migrations/0016_dataset_grading_review.ts on a database of the release before it: datasets
// published then count as confirmed (by 'migration'), drafts wait for the office.
import { readdirSync } from 'node:fs'
import t from 'tap'
import { createMigrator, migrateToLatest, migrationsDir } from '../../src/db/migrator.js'
import { freshDatabase } from '../helpers/database.js'

const ALL = readdirSync(migrationsDir).filter((f) => /^\d{4}_.*\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, '')).sort()
const before = ALL[ALL.indexOf('0016_dataset_grading_review') - 1]!

t.test('an older catalog upgrades: published datasets are confirmed, drafts proposed', async (t) => {
  const testDb = await freshDatabase()
  t.teardown(() => testDb.destroy())
  const handle = await testDb.open()
  t.teardown(() => handle.close())
  const { db } = handle
  const { error } = await createMigrator(db).migrateTo(before)
  t.error(error, `down to ${before}`)

  await db.insertInto('units').values({ code: 'CS', name: 'CS', officer_name: 'n', officer_contact: 'c' }).execute()
  const publishedAt = new Date('2026-05-01T08:00:00.000Z')
  const dataset = (code: string, status: string) => ({
    code,
    name: code,
    producer_unit: 'CS',
    subject: code,
    category: 'student',
    grade: 'ordinary',
    national_grade: 'general',
    share_attribute: 'conditional',
    open_attribute: 'none',
    personnel_basic: false,
    update_frequency: 'daily',
    retention_days: 365,
    holds_pi: true,
    sensitive_pi: false,
    children_pi: false,
    primary_key: ['id'],
    fields: JSON.stringify([{ name: 'id', type: 'string', required: true, piType: 'student_id', sensitivity: 3 }]),
    sources: [],
    metadata_restricted: false,
    status,
    created_by: 'old',
    published_at: status === 'draft' ? null : publishedAt
  })
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
