import t from 'tap'
import type { InjectOptions } from 'fastify'
import type { Role } from '../../src/platform/auth/roles.js'
import { encodeCursor } from '../../src/platform/pagination.js'
import { eventsOf } from '../../src/platform/events.js'
import { build, type TestApp, type TestContext } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'
import { insertGrant } from '../helpers/grants.js'
import { addPurpose } from '../helpers/purposes.js'

const DAY = 86_400_000
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString()
const steward = { unit: 'CS', sub: 'cs-steward' }
const csConsumer = { unit: 'CS', sub: 'cs-clerk' }
const mathSteward = { unit: 'MATH', sub: 'math-steward' }
const office = { unit: 'OFFICE', sub: 'office-wang' }
const PERSON = '2020000001'

/**
 * Unit CS with an ordinary PI dataset, a sensitive one and a children's one; unit MATH with a
 * published dataset and a draft; purposes `scholarship` and `alumni`, and `old_survey` retired.
 */
async function setup (t: TestContext) {
  const h = await build(t)
  await insertDataset(h, { code: 'students', producer_unit: 'CS' })
  await insertDataset(h, { code: 'health', producer_unit: 'CS', sensitive_pi: true })
  await insertDataset(h, { code: 'pupils', producer_unit: 'CS', children_pi: true })
  await insertDataset(h, { code: 'math_staff', producer_unit: 'MATH' })
  await insertDataset(h, { code: 'math_draft', producer_unit: 'MATH', status: 'draft' })
  for (const code of ['scholarship', 'alumni', 'old_survey']) await addPurpose(h, code)
  await h.as('security_admin', { method: 'PATCH', url: '/api/v1/purposes/old_survey', payload: { retired: true } })
  return h
}

const body = (extra: object = {}) => ({
  person: PERSON, dataset: 'students', purposeCode: 'scholarship', purpose: 'scholarship assessment', kind: 'general', evidence: 'form SA-2026-0173', givenAt: ago(1), ...extra
})

async function record (h: TestApp, payload: object = body(), claims = steward, role: Role = 'steward') {
  const res = await h.as(role, { method: 'POST', url: '/api/v1/consents', payload }, claims)
  if (res.statusCode !== 201) throw new Error(`recording: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function withdraw (h: TestApp, id: string, claims: { unit: string, sub: string } | undefined = steward, role: Role | Role[] = 'steward', reason = 'withdrawn in writing') {
  return await h.as(role, { method: 'POST', url: `/api/v1/consents/${id}/withdrawal`, payload: { reason } }, claims)
}

async function consentRows (h: TestApp) {
  return await h.database.db.selectFrom('consents').selectAll().orderBy('seq').execute()
}

async function consentEvents (h: TestApp) {
  return await h.database.db.selectFrom('domain_events').selectAll().where('action', 'like', 'consent.%').execute()
}

t.test('a steward records its unit\'s consent; the unit, the office and auditors read it', async (t) => {
  const h = await setup(t)
  const expiresAt = new Date(Date.now() + 365 * DAY).toISOString()
  const res = await h.as('steward', { method: 'POST', url: '/api/v1/consents', payload: body({ expiresAt }) }, steward)
  t.equal(res.statusCode, 201)
  const created = res.json()
  t.match(created, {
    unit: 'CS',
    person: PERSON,
    dataset: 'students',
    purposeCode: 'scholarship',
    purpose: 'scholarship assessment',
    kind: 'general',
    evidence: 'form SA-2026-0173',
    expiresAt,
    status: 'active',
    withdrawnAt: null,
    withdrawalReason: null,
    recordedBy: 'cs-steward'
  })
  t.match(created.id, /^[0-9a-f-]{36}$/)

  for (const [role, claims] of [['steward', steward], ['consumer', csConsumer], ['security_admin', undefined], ['auditor', undefined]] as const) {
    const got = await h.as(role, { method: 'GET', url: `/api/v1/consents/${created.id}` }, claims)
    t.equal(got.statusCode, 200, `${role} reads it`)
    t.same(got.json(), created)
  }

  const events = await eventsOf(h.database.db, 'consent', created.id)
  t.equal(events.length, 1)
  t.match(events[0], { service: 'authorization', action: 'consent.record', actor_sub: 'cs-steward', actor_unit: 'CS', dataset_code: 'students', request_id: /.+/ })
  t.match(events[0]!.details, { unit: 'CS', kind: 'general', purposeCode: 'scholarship', purpose: 'scholarship assessment', expiresAt })
  t.notMatch(JSON.stringify(events[0]!.details), new RegExp(PERSON), 'the person key is not copied into the event')

  const byOffice = await record(h, { person: '2020000002', dataset: 'students', purposeCode: 'alumni', kind: 'general', evidence: 'web form 88', givenAt: ago(2) }, office, 'security_admin')
  t.match(byOffice, { unit: 'CS', purposeCode: 'alumni', purpose: null, recordedBy: 'office-wang', expiresAt: null }, 'the office records for the producer unit; the free-text purpose is optional')
})

t.test('sensitive and children\'s personal information take the kind of consent the rules ask for', async (t) => {
  const h = await setup(t)
  const refused: [object, RegExp][] = [
    [body({ dataset: 'health', kind: 'general' }), /sensitive personal information.*R9\.2/],
    [body({ dataset: 'pupils', kind: 'general' }), /children's personal information.*R9\.3/],
    [body({ dataset: 'pupils', kind: 'separate' }), /guardian/]
  ]
  for (const [payload, detail] of refused) {
    const res = await h.as('steward', { method: 'POST', url: '/api/v1/consents', payload }, steward)
    t.equal(res.statusCode, 400)
    t.match(res.json(), { code: 'VALIDATION_FAILED', detail, errors: [{ in: 'body', field: 'kind' }] })
  }
  t.equal((await consentRows(h)).length, 0, 'nothing was recorded')
  t.equal((await record(h, body({ dataset: 'health', kind: 'separate' }))).kind, 'separate')
  t.equal((await record(h, body({ dataset: 'health', kind: 'guardian' }))).kind, 'guardian')
  t.equal((await record(h, body({ dataset: 'pupils', kind: 'guardian' }))).kind, 'guardian')
  t.equal((await record(h, body({ dataset: 'students', kind: 'separate' }))).kind, 'separate', 'ordinary PI takes any kind')
})

t.test('roles outside consents are refused, and nothing is written', async (t) => {
  const h = await setup(t)
  const consent = await record(h)
  const requests: [InjectOptions, readonly Role[]][] = [
    [{ method: 'POST', url: '/api/v1/consents', payload: body() }, ['consumer', 'auditor', 'system_admin', 'supervisor', 'leadership']],
    [{ method: 'POST', url: '/api/v1/consents/batch', payload: [body()] }, ['consumer', 'auditor', 'system_admin', 'supervisor', 'leadership']],
    [{ method: 'GET', url: '/api/v1/consents' }, ['system_admin', 'supervisor', 'leadership']],
    [{ method: 'GET', url: `/api/v1/consents/${consent.id}` }, ['system_admin', 'supervisor', 'leadership']],
    [{ method: 'POST', url: `/api/v1/consents/${consent.id}/withdrawal`, payload: { reason: 'r' } }, ['auditor', 'system_admin', 'supervisor', 'leadership']]
  ]
  for (const [request, roles] of requests) {
    for (const role of roles) {
      const res = await h.as(role, request, { unit: 'CS' })
      t.equal(res.statusCode, 403, `${role} ${request.method} ${request.url}`)
      t.equal(res.json().code, 'AUTH_FORBIDDEN')
    }
  }
  const rows = await consentRows(h)
  t.same(rows.map((r) => r.status), ['active'], 'one consent, still active')
  t.equal((await consentEvents(h)).length, 1, 'only the recording was recorded')

  for (const claims of [mathSteward, { unit: 'NOPE', sub: 'x' }]) {
    const other = await h.as('steward', { method: 'POST', url: '/api/v1/consents', payload: body() }, claims)
    t.equal(other.statusCode, 403, `a steward of ${claims.unit} records nothing for CS's dataset`)
    t.equal(other.json().code, 'AUTHZ_CONSENT_FORBIDDEN')
  }
  const consumerWithSteward = await h.as(['consumer'], { method: 'POST', url: '/api/v1/consents', payload: body() }, csConsumer)
  t.equal(consumerWithSteward.statusCode, 403, 'the producer unit\'s consumer role records nothing either')
  t.equal((await consentRows(h)).length, 1)
})

t.test('bad input is a 400 naming the field, and nothing is written', async (t) => {
  const h = await setup(t)
  const future = new Date(Date.now() + DAY).toISOString()
  const { person: _p, ...noPerson } = body()
  const { dataset: _d, ...noDataset } = body()
  const { purposeCode: _c, ...noPurposeCode } = body()
  const { evidence: _e, ...noEvidence } = body()
  const { givenAt: _g, ...noGivenAt } = body()
  const cases: [string, object, string][] = [
    ['missing person', noPerson, 'person'],
    ['empty person', body({ person: '' }), 'person'],
    ['person too long', body({ person: '1'.repeat(201) }), 'person'],
    ['person not a string', body({ person: 2020000001 }), 'person'],
    ['missing dataset', noDataset, 'dataset'],
    ['missing purposeCode', noPurposeCode, 'purposeCode'],
    ['bad purposeCode', body({ purposeCode: 'Scholarship!' }), 'purposeCode'],
    ['unknown purposeCode', body({ purposeCode: 'no_such_purpose' }), 'purposeCode'],
    ['retired purposeCode', body({ purposeCode: 'old_survey' }), 'purposeCode'],
    ['purpose too long', body({ purpose: 'x'.repeat(501) }), 'purpose'],
    ['missing evidence', noEvidence, 'evidence'],
    ['evidence too long', body({ evidence: 'x'.repeat(501) }), 'evidence'],
    ['unknown kind', body({ kind: 'verbal' }), 'kind'],
    ['missing givenAt', noGivenAt, 'givenAt'],
    ['givenAt not a date-time', body({ givenAt: 'yesterday' }), 'givenAt'],
    ['givenAt in the future', body({ givenAt: future }), 'givenAt'],
    ['expiresAt not a date-time', body({ expiresAt: '2027-01-01' }), 'expiresAt'],
    ['expiresAt at givenAt', body({ givenAt: ago(3), expiresAt: ago(3) }), 'expiresAt'],
    ['expiresAt before givenAt', body({ givenAt: ago(3), expiresAt: ago(4) }), 'expiresAt'],
    ['bad dataset code', body({ dataset: 'a b' }), 'dataset'],
    ['unknown dataset', body({ dataset: 'nope' }), 'dataset'],
    ['another unit\'s draft', body({ dataset: 'math_draft' }), 'dataset'],
    ['unit is not the caller\'s to choose', body({ unit: 'MATH' }), 'unit'],
    ['status is not set on record', body({ status: 'withdrawn' }), 'status']
  ]
  for (const [label, payload, field] of cases) {
    const res = await h.as('steward', { method: 'POST', url: '/api/v1/consents', payload }, steward)
    t.equal(res.statusCode, 400, label)
    t.equal(res.json().code, 'VALIDATION_FAILED', label)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
  }
  const unknown = await h.as('steward', { method: 'POST', url: '/api/v1/consents', payload: body({ dataset: 'math_draft' }) }, steward)
  t.match(unknown.json().detail, /no dataset with code math_draft/, 'another unit\'s draft reads as unknown')

  const consent = await record(h)
  for (const [label, payload] of [['no reason', {}], ['empty reason', { reason: '' }], ['reason too long', { reason: 'x'.repeat(2001) }], ['extra field', { reason: 'r', force: true }]] as const) {
    const res = await h.as('steward', { method: 'POST', url: `/api/v1/consents/${consent.id}/withdrawal`, payload }, steward)
    t.equal(res.statusCode, 400, label)
    t.equal(res.json().code, 'VALIDATION_FAILED', label)
  }
  for (const [method, url] of [['GET', '/api/v1/consents/not-a-uuid'], ['POST', '/api/v1/consents/123/withdrawal']] as const) {
    const res = await h.as('steward', { method, url, ...(method === 'POST' ? { payload: { reason: 'r' } } : {}) }, steward)
    t.equal(res.statusCode, 400, url)
    t.match(res.json().errors, [{ in: 'params', field: 'id' }])
  }
  const notSeq = encodeCursor(['abc'])
  for (const query of ['purposeCode=A', 'limit=0', 'limit=201', 'status=maybe', 'kind=verbal', 'dataset=a%20b', `person=${'1'.repeat(201)}`, 'cursor=!!', 'cursor=bm90LWpzb24', `cursor=${notSeq}`, 'other=1']) {
    const res = await h.as('steward', { method: 'GET', url: `/api/v1/consents?${query}` }, steward)
    t.equal(res.statusCode, 400, query)
  }
  const rows = await consentRows(h)
  t.same(rows.map((r) => [r.status, r.withdrawal_reason]), [['active', null]], 'only the valid consent exists, unchanged')
  t.equal((await consentEvents(h)).length, 1)
})

t.test('another unit sees none of it; the office sees and withdraws every unit\'s', async (t) => {
  const h = await setup(t)
  const consent = await record(h)
  const url = `/api/v1/consents/${consent.id}`
  for (const role of ['steward', 'consumer'] as const) {
    const got = await h.as(role, { method: 'GET', url }, mathSteward)
    t.equal(got.statusCode, 404, `${role} of MATH reads nothing`)
    t.equal(got.json().code, 'AUTHZ_CONSENT_NOT_FOUND')
    const withdrawn = await withdraw(h, consent.id, mathSteward, role)
    t.equal(withdrawn.statusCode, 404, `${role} of MATH withdraws nothing`)
    t.equal(withdrawn.json().code, 'AUTHZ_CONSENT_NOT_FOUND')
  }
  t.same((await h.as('steward', { method: 'GET', url: '/api/v1/consents' }, mathSteward)).json(), { data: [], nextCursor: null })
  t.same((await h.as('steward', { method: 'GET', url: '/api/v1/consents?unit=CS' }, mathSteward)).json().data, [], 'a unit filter does not widen what a unit sees')

  const both = await withdraw(h, consent.id, mathSteward, ['auditor', 'steward'])
  t.equal(both.statusCode, 403, 'auditor and steward: reads every unit, withdraws its own only')
  t.equal(both.json().code, 'AUTHZ_CONSENT_FORBIDDEN')
  t.equal((await consentRows(h))[0]!.status, 'active', 'nothing changed')

  for (const role of ['security_admin', 'auditor'] as const) {
    const list = await h.as(role, { method: 'GET', url: '/api/v1/consents?unit=CS' })
    t.same(list.json().data.map((c: { id: string }) => c.id), [consent.id], `${role} lists every unit's`)
  }
  const office = await withdraw(h, consent.id, { unit: 'OFFICE', sub: 'office' }, 'security_admin')
  t.equal(office.statusCode, 200, 'the office withdraws any unit\'s consent')
  t.match(office.json().consent, { status: 'withdrawn', withdrawalReason: 'withdrawn in writing' })
})

t.test('a withdrawal is recorded once and suspends no grant: the rows go, the grant stays', async (t) => {
  const h = await setup(t)
  const consent = await record(h)
  const legacy = await insertGrant(h, { grant: { consent_ids: [consent.id], consent_based: true, purpose_code: 'scholarship' } })

  const res = await withdraw(h, consent.id, csConsumer, 'consumer', 'the student withdrew consent in writing')
  t.equal(res.statusCode, 200)
  const { consent: after, ...rest } = res.json()
  t.same(rest, {}, 'the answer is the consent: no grant was suspended')
  t.match(after, { id: consent.id, status: 'withdrawn', withdrawalReason: 'the student withdrew consent in writing', person: PERSON })
  t.ok(Date.parse(after.withdrawnAt) >= Date.parse(consent.createdAt))
  t.match(await h.database.db.selectFrom('grants').selectAll().where('id', '=', legacy.grant.id).executeTakeFirst(), { status: 'active', status_reason: null })

  const withdrawal = await eventsOf(h.database.db, 'consent', consent.id)
  t.same(withdrawal.map((e) => e.action), ['consent.record', 'consent.withdraw'])
  t.match(withdrawal[1], { actor_sub: 'cs-clerk', actor_unit: 'CS', dataset_code: 'students' })
  t.match(withdrawal[1]!.details, { reason: 'the student withdrew consent in writing', before: { status: 'active' }, after: { status: 'withdrawn' } })
  t.equal((await eventsOf(h.database.db, 'grant', legacy.grant.id)).length, 0, 'nothing happened to the grant')
  const all = await h.database.db.selectFrom('domain_events').select('details').execute()
  t.notOk(all.some((e) => JSON.stringify(e.details).includes(PERSON)), 'no event names the person')

  const twice = await withdraw(h, consent.id, steward)
  t.equal(twice.statusCode, 409)
  t.equal(twice.json().code, 'AUTHZ_CONSENT_WITHDRAWN')
  t.equal((await eventsOf(h.database.db, 'consent', consent.id)).length, 2, 'the second withdrawal recorded nothing')
  t.equal((await consentRows(h)).find((r) => r.id === consent.id)!.withdrawal_reason, 'the student withdrew consent in writing', 'and changed nothing')

  const unknown = await withdraw(h, '00000000-0000-4000-8000-000000000000', steward)
  t.equal(unknown.statusCode, 404)
})

t.test('an expired consent reports expired, is listed as such, and may be withdrawn', async (t) => {
  const h = await setup(t)
  const expired = await record(h, body({ givenAt: ago(30), expiresAt: ago(1) }))
  const live = await record(h, body({ person: '2020000002', expiresAt: new Date(Date.now() + DAY).toISOString() }))
  t.equal(expired.status, 'expired')
  t.equal(live.status, 'active')
  const list = async (query: string) => (await h.as('steward', { method: 'GET', url: `/api/v1/consents?${query}` }, steward)).json().data.map((c: { id: string }) => c.id)
  t.same(await list('status=expired'), [expired.id])
  t.same(await list('status=active'), [live.id])
  t.same(await list('status=withdrawn'), [])
  const res = await withdraw(h, expired.id)
  t.equal(res.statusCode, 200)
  t.equal(res.json().consent.status, 'withdrawn')
  t.same(await list('status=withdrawn'), [expired.id])
  t.same(await list('status=expired'), [], 'withdrawn outranks expired')
})

t.test('the list is newest first, paginated and filtered', async (t) => {
  const h = await setup(t)
  const made = []
  for (let i = 0; i < 5; i++) {
    made.push(await record(h, body({ person: `20200000${i % 2}`, dataset: i < 3 ? 'students' : 'health', kind: i < 3 ? 'general' : 'separate' })))
  }
  await record(h, body({ person: 'x', dataset: 'math_staff' }), mathSteward)
  const seen: string[] = []
  let cursor: string | null = null
  do {
    const res = await h.as('consumer', { method: 'GET', url: `/api/v1/consents?limit=2${cursor ? `&cursor=${cursor}` : ''}` }, csConsumer)
    t.equal(res.statusCode, 200)
    const page = res.json() as { data: { id: string, unit: string }[], nextCursor: string | null }
    t.ok(page.data.length <= 2)
    t.ok(page.data.every((c) => c.unit === 'CS'))
    seen.push(...page.data.map((c) => c.id))
    cursor = page.nextCursor
  } while (cursor !== null)
  t.same(seen, made.map((c) => c.id).reverse(), 'every CS consent once, newest first')

  const ids = async (query: string) => (await h.as('steward', { method: 'GET', url: `/api/v1/consents?${query}` }, steward)).json().data.map((c: { id: string }) => c.id)
  t.same(await ids('person=202000000'), [made[4].id, made[2].id, made[0].id])
  t.same(await ids('dataset=health'), [made[4].id, made[3].id])
  t.same(await ids('kind=general&person=202000001'), [made[1].id])
  t.same(await ids('purposeCode=scholarship&dataset=health'), [made[4].id, made[3].id])
  t.same(await ids('purposeCode=alumni'), [])
  t.same(await ids('dataset=nope'), [])
  const office = await h.as('auditor', { method: 'GET', url: '/api/v1/consents' })
  t.equal(office.json().data.length, 6, 'auditors see every unit\'s')
})

t.test('two withdrawals at once: one wins, the other is a 409', async (t) => {
  const h = await setup(t)
  const consent = await record(h)
  const answers = await Promise.all([withdraw(h, consent.id), withdraw(h, consent.id, csConsumer, 'consumer')])
  t.same(answers.map((r) => r.statusCode).sort(), [200, 409])
  t.equal((await consentEvents(h)).filter((e) => e.action === 'consent.withdraw').length, 1)
})

t.test('a batch records its valid consents and lists the others with their index and reasons', async (t) => {
  const h = await setup(t)
  const items = [
    body({ person: '2020000001' }),
    body({ person: '2020000002', dataset: 'pupils', kind: 'general' }),
    body({ person: '2020000003', dataset: 'pupils', kind: 'guardian' }),
    body({ person: '2020000004', purposeCode: 'no_such_purpose' }),
    body({ person: '2020000005', dataset: 'math_staff' }),
    { person: '2020000006', dataset: 'students', kind: 'general', evidence: 'e', givenAt: ago(1), colour: 'blue' },
    body({ person: '2020000008', givenAt: new Date(Date.now() + DAY).toISOString() })
  ]
  const res = await h.as('steward', { method: 'POST', url: '/api/v1/consents/batch', payload: items }, steward)
  t.equal(res.statusCode, 200, res.body)
  const { accepted, rejected } = res.json()
  t.equal(accepted, 2)
  t.same(rejected.map((r: { index: number }) => r.index), [1, 3, 4, 5, 6])
  const fieldsOf = (index: number) => rejected.find((r: { index: number }) => r.index === index).errors.map((e: { field: string }) => e.field)
  t.same(fieldsOf(1), ['kind'], 'children\'s data takes a guardian\'s consent')
  t.same(fieldsOf(3), ['purposeCode'])
  t.same(fieldsOf(4), ['dataset'], 'another unit\'s dataset')
  t.same(fieldsOf(5).sort(), ['colour', 'purposeCode'].sort(), 'every schema problem of the item')
  t.same(fieldsOf(6), ['givenAt'])
  t.same((await consentRows(h)).map((r) => [r.person_key, r.dataset_code, r.purpose_code, r.recorded_by]), [
    ['2020000001', 'students', 'scholarship', 'cs-steward'], ['2020000003', 'pupils', 'scholarship', 'cs-steward']
  ])
  const events = await h.database.db.selectFrom('domain_events').selectAll().where('action', '=', 'consent.record_batch').execute()
  t.equal(events.length, 1, 'one event for the batch')
  t.match(events[0]!.details, { received: 7, accepted: 2, rejected: 5, datasets: { students: 1, pupils: 1 }, purposes: { scholarship: 2 }, kinds: { general: 1, guardian: 1 } })
  t.notOk(JSON.stringify(events[0]!.details).includes('2020000001'), 'no person key in the event')

  const ndjson = [body({ person: '2020000011' }), body({ person: '2020000012', kind: 'verbal' })].map((c) => JSON.stringify(c)).join('\n') + '\n\n'
  const nd = await h.as('security_admin', { method: 'POST', url: '/api/v1/consents/batch', payload: ndjson, headers: { 'content-type': 'application/x-ndjson' } }, office)
  t.equal(nd.statusCode, 200, nd.body)
  t.match(nd.json(), { accepted: 1, rejected: [{ index: 1, errors: [{ field: 'kind' }] }] })

  const before = (await consentRows(h)).length
  const tooMany = await h.as('steward', { method: 'POST', url: '/api/v1/consents/batch', payload: Array.from({ length: 10_001 }, () => ({})) }, steward)
  t.equal(tooMany.statusCode, 413)
  const empty = await h.as('steward', { method: 'POST', url: '/api/v1/consents/batch', payload: [] }, steward)
  t.equal(empty.statusCode, 400)
  const broken = await h.as('steward', { method: 'POST', url: '/api/v1/consents/batch', payload: '{"person": 1}\n{oops', headers: { 'content-type': 'application/x-ndjson' } }, steward)
  t.equal(broken.statusCode, 400)
  t.equal(broken.json().code, 'MALFORMED_NDJSON')
  t.equal((await consentRows(h)).length, before, 'nothing recorded by the refused batches')
})
