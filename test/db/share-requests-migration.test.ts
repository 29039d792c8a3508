// migrations/0015_share_requests_external.ts on a database of the release before it: existing
// requests and reviews stay as they were, not external and renewing nothing; the new constraints hold.
import t from 'tap'
import { migrateToLatest } from '../../src/db/migrator.js'
import { databaseBefore, legacyDataset } from '../helpers/older-database.js'

t.test('older share requests upgrade unchanged; external, recipients, leadership reviews and renewals are checked', async (t) => {
  const { db, handle } = await databaseBefore(t, '0015_share_requests_external')

  await db.insertInto('units').values([{ code: 'CS', name: 'CS', officer_name: 'n', officer_contact: 'c' }, { code: 'MATH', name: 'MATH', officer_name: 'n', officer_contact: 'c' }]).execute()
  await db.insertInto('datasets').values(legacyDataset('grades')).execute()
  const request = (overrides: Record<string, unknown> = {}) => ({
    dataset_code: 'grades',
    producer_unit: 'CS',
    consumer_unit: 'MATH',
    requested_by: 'alice',
    fields: ['id'],
    purpose: 'p',
    legal_basis: 'l',
    access_modes: ['api'],
    valid_from: '2026-01-01',
    valid_until: '2026-12-31',
    daily_row_quota: 10,
    third_party: false,
    workflow: 'producer_office',
    needs_agreement: true,
    status: 'pending_review',
    ...overrides
  })
  const old = await db.insertInto('share_requests').values(request()).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('share_request_reviews').values({ share_request_id: old.id, party: 'producer', decision: 'approve', reviewer_sub: 's', reviewer_unit: 'CS' }).execute()

  await migrateToLatest(handle.db)
  t.match(await db.selectFrom('share_requests').selectAll().where('id', '=', old.id).executeTakeFirstOrThrow(), {
    workflow: 'producer_office', status: 'pending_review', external: false, recipient_name: null, recipient_kind: null, renews: null
  })
  t.equal((await db.selectFrom('share_request_reviews').select('party').executeTakeFirstOrThrow()).party, 'producer')

  const violates = { code: '23514' }
  await t.rejects(db.updateTable('share_requests').set({ external: true }).where('id', '=', old.id).execute(), violates, 'external needs a recipient')
  await t.rejects(db.insertInto('share_requests').values(request({ recipient_name: 'X', recipient_kind: 'government' })).execute(), violates, 'a recipient needs external')
  await t.rejects(db.insertInto('share_requests').values(request({ external: true, recipient_name: 'X', recipient_kind: 'alien' })).execute(), violates, 'recipient kinds are few')
  await t.rejects(db.insertInto('share_requests').values(request({ external: true, recipient_name: 'X', recipient_kind: 'government' })).execute(), violates, 'external goes to the leading group')
  const external = await db.insertInto('share_requests')
    .values(request({ external: true, recipient_name: 'X', recipient_kind: 'government', workflow: 'producer_office_leadership' })).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('share_request_reviews').values({ share_request_id: external.id, party: 'leadership', decision: 'approve', reviewer_sub: 'l', reviewer_unit: 'LEAD' }).execute()
  await t.rejects(db.insertInto('share_request_reviews').values({ share_request_id: external.id, party: 'rector', decision: 'approve', reviewer_sub: 'r', reviewer_unit: 'LEAD' }).execute(), violates)

  // one renewal of a grant under way at a time, whatever the application checks
  const grant = await db.insertInto('grants').values({
    share_request_id: old.id,
    consumer_unit: 'MATH',
    dataset_code: 'grades',
    producer_unit: 'CS',
    fields: ['id'],
    row_filter: '{}',
    purpose: 'p',
    access_modes: ['api'],
    valid_from: '2026-01-01',
    valid_until: '2026-12-31',
    daily_row_quota: 10,
    masked: true,
    third_party: false,
    children_pi: false,
    status: 'active'
  }).returning('id').executeTakeFirstOrThrow()
  await db.insertInto('share_requests').values(request({ renews: grant.id, status: 'rejected' })).execute()
  await db.insertInto('share_requests').values(request({ renews: grant.id })).execute()
  await t.rejects(db.insertInto('share_requests').values(request({ renews: grant.id, status: 'approved' })).execute(), { code: '23505' })
})
