import type { Grant, NewGrant, NewShareRequest, ShareRequest } from '../../src/db/database.js'
import { createUnit, type TestApp } from './build.js'
import { insertDataset } from './catalog.js'

const today = () => new Date().toISOString().slice(0, 10)
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)

async function ensureUnit (h: TestApp, code: string) {
  if (!(await h.database.db.selectFrom('units').select('code').where('code', '=', code).executeTakeFirst())) await createUnit(h, code)
}

export interface GrantFixture {
  request: ShareRequest
  grant: Grant
}

/**
 * An active grant with its approved share request, stored straight through Kysely: for tests of what
 * happens to grants (consent withdrawal, offboarding, the data path) without walking the workflow.
 * The dataset (default `students` of unit CS) is created if missing.
 */
export async function insertGrant (
  h: TestApp,
  overrides: { request?: Partial<NewShareRequest>, grant?: Partial<NewGrant> } = {}
): Promise<GrantFixture> {
  const db = h.database.db
  const datasetCode = overrides.request?.dataset_code ?? 'students'
  let dataset = await db.selectFrom('datasets').selectAll().where('code', '=', datasetCode).executeTakeFirst()
  dataset ??= await insertDataset(h, { code: datasetCode })
  const consumer = overrides.request?.consumer_unit ?? 'MATH'
  await ensureUnit(h, consumer)
  const request = await db.insertInto('share_requests').values({
    dataset_code: dataset.code,
    producer_unit: dataset.producer_unit,
    consumer_unit: consumer,
    subject: null,
    requested_by: 'fixture',
    requested_client: null,
    fields: dataset.fields.slice(0, 2).map((f) => f.name),
    row_filter: '{}',
    purpose: 'teaching evaluation',
    legal_basis: 'performance of statutory duties',
    access_modes: ['api'],
    valid_from: today(),
    valid_until: inDays(365),
    daily_row_quota: 10_000,
    third_party: false,
    third_party_name: null,
    workflow: 'office',
    needs_agreement: false,
    status: 'active',
    decision_reason: null,
    review_due_at: null,
    overdue_reported_at: null,
    unmasked_reason: null,
    collective_decision: null,
    external_approval: null,
    person_count: null,
    ...overrides.request
  }).returningAll().executeTakeFirstOrThrow()
  const grant = await db.insertInto('grants').values({
    share_request_id: request.id,
    consumer_unit: request.consumer_unit,
    subject: request.subject,
    dataset_code: request.dataset_code,
    producer_unit: request.producer_unit,
    fields: request.fields,
    row_filter: JSON.stringify(request.row_filter),
    purpose: request.purpose,
    access_modes: request.access_modes,
    valid_from: request.valid_from,
    valid_until: request.valid_until,
    daily_row_quota: request.daily_row_quota,
    masked: true,
    third_party: request.third_party,
    children_pi: dataset.children_pi,
    consent_ids: request.consent_ids,
    status: 'active',
    status_reason: null,
    status_changed_by: null,
    status_changed_at: null,
    ...overrides.grant
  }).returningAll().executeTakeFirstOrThrow()
  return { request, grant }
}
