// migrations/0017_grant_lifecycle.ts on a database of the release before it: existing grants keep
// their terms and fall due for re-certification a year (GRANT_RECERTIFY_DAYS) after their creation.
import t from 'tap'
import { recertificationView, sweepRecertification } from '../../src/authorization/grants/recertification.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { databaseBefore, legacyDataset } from '../helpers/older-database.js'

const DAY = 86_400_000
const settings = { GRANT_RECERTIFY_DAYS: 365, GRANT_RECERTIFY_GRACE_DAYS: 30 }

t.test('existing grants fall due a year after their creation', async (t) => {
  const { db, handle } = await databaseBefore(t, '0017_grant_lifecycle')

  await db.insertInto('units').values([{ code: 'CS', name: 'CS', officer_name: 'n', officer_contact: 'c' }, { code: 'MATH', name: 'MATH', officer_name: 'n', officer_contact: 'c' }]).execute()
  await db.insertInto('datasets').values(legacyDataset('grades')).execute()
  const grantOf = async (createdDaysAgo: number) => {
    const terms = { dataset_code: 'grades', producer_unit: 'CS', consumer_unit: 'MATH', fields: ['id'], purpose: 'p', access_modes: ['api'], valid_from: '2026-01-01', valid_until: '2099-12-31', daily_row_quota: 10, third_party: false }
    const request = await db.insertInto('share_requests').values({
      ...terms, requested_by: 'alice', legal_basis: 'l', workflow: 'office', needs_agreement: false, status: 'active'
    }).returning('id').executeTakeFirstOrThrow()
    return (await db.insertInto('grants').values({
      ...terms, share_request_id: request.id, row_filter: '{}', masked: true, children_pi: false, status: 'active', created_at: new Date(Date.now() - createdDaysAgo * DAY)
    }).returning('id').executeTakeFirstOrThrow()).id as string
  }
  const old = await grantOf(400)
  const young = await grantOf(10)

  await migrateToLatest(handle.db)
  const rows = await handle.db.selectFrom('grants').selectAll().orderBy('seq').execute()
  t.match(rows, [{ id: old, status: 'active', fields: ['id'], recertified_at: null, recertification_decision: null }, { id: young, recertified_at: null }], 'terms unchanged, never re-certified')
  t.equal(recertificationView(rows[1]!, settings).dueAt, new Date(rows[1]!.created_at.getTime() + 365 * DAY).toISOString(), 'due a year after creation')
  t.same(await sweepRecertification(handle.db, settings), { reported: [old], suspended: [old] }, 'an old grant is due, and past its grace')
})
