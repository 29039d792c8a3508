// migrations/0019_purposes_and_row_consent.ts on a database of the release before it: existing
// consents get the purpose `legacy`, and so do grants that now rest on consent (they listed consents,
// or their dataset holds children's or sensitive data); other grants are left as they were.
import t from 'tap'
import { createMigrator, migrateToLatest } from '../../src/db/migrator.js'
import { databaseBefore, legacyDataset } from '../helpers/older-database.js'

t.test('consents and grants on consent get the purpose legacy; down and up again', async (t) => {
  const { db, handle, before } = await databaseBefore(t, '0019_purposes_and_row_consent')
  await db.insertInto('units').values(['CS', 'MATH'].map((code) => ({ code, name: code, officer_name: 'n', officer_contact: 'c' }))).execute()
  await db.insertInto('datasets').values([legacyDataset('grades'), legacyDataset('pupils', { children_pi: true })]).execute()
  const consent = await db.insertInto('consents').values({
    unit_code: 'CS', person_key: '2020000001', dataset_code: 'pupils', purpose: 'school health records', kind: 'guardian', evidence: 'form 17', given_at: new Date(), recorded_by: 'cs-steward'
  }).returning('id').executeTakeFirstOrThrow()
  const grantOf = async (dataset: string, consentIds: string[]) => {
    const terms = { dataset_code: dataset, producer_unit: 'CS', consumer_unit: 'MATH', fields: ['id'], purpose: 'p', access_modes: ['api'], valid_from: '2026-01-01', valid_until: '2099-12-31', daily_row_quota: 10, third_party: false, consent_ids: consentIds }
    const request = await db.insertInto('share_requests').values({ ...terms, requested_by: 'alice', legal_basis: 'l', workflow: 'office', needs_agreement: false, status: 'active' }).returning('id').executeTakeFirstOrThrow()
    const grant = await db.insertInto('grants').values({ ...terms, share_request_id: request.id, row_filter: '{}', masked: true, children_pi: dataset === 'pupils', status: 'active' }).returning('id').executeTakeFirstOrThrow()
    return { request: request.id as string, grant: grant.id as string }
  }
  const children = await grantOf('pupils', [])
  const listed = await grantOf('grades', [consent.id])
  const plain = await grantOf('grades', [])

  await migrateToLatest(handle.db)
  const mdb = handle.db
  t.match(await mdb.selectFrom('purposes').selectAll().execute(), [{ code: 'legacy', name_en: 'migrated, purpose as free text', retired_at: null }])
  t.match(await mdb.selectFrom('consents').selectAll().execute(), [{ id: consent.id, purpose_code: 'legacy', purpose: 'school health records' }], 'the free text stays')
  const grants = await mdb.selectFrom('grants').select(['id', 'consent_based', 'purpose_code', 'status']).execute()
  const grant = (id: string) => grants.find((g) => g.id === id)
  t.match(grant(children.grant), { consent_based: true, purpose_code: 'legacy', status: 'active' }, 'children\'s data rests on consent')
  t.match(grant(listed.grant), { consent_based: true, purpose_code: 'legacy' }, 'a grant that listed consents rests on them')
  t.match(grant(plain.grant), { consent_based: false, purpose_code: null }, 'the others are as they were')
  const requests = await mdb.selectFrom('share_requests').select(['id', 'consent_based', 'purpose_code']).execute()
  t.match(requests.find((r) => r.id === listed.request), { consent_based: true, purpose_code: 'legacy' })
  t.match(requests.find((r) => r.id === children.request), { consent_based: false, purpose_code: 'legacy' }, 'the request said nothing; its dataset needs a purpose')

  const { error: down } = await createMigrator(mdb).migrateTo(before)
  t.error(down, 'down')
  t.match(await db.selectFrom('consents').selectAll().execute(), [{ id: consent.id, purpose: 'school health records' }])
  await migrateToLatest(mdb)
  t.equal((await mdb.selectFrom('consents').select('purpose_code').executeTakeFirstOrThrow()).purpose_code, 'legacy', 'and up again')
})

t.test('a database without consents or grants on consent gets no purpose', async (t) => {
  const { handle } = await databaseBefore(t, '0019_purposes_and_row_consent')
  await migrateToLatest(handle.db)
  t.same(await handle.db.selectFrom('purposes').selectAll().execute(), [])
})
