import t from 'tap'
import type { InjectOptions } from 'fastify'
import type { Role } from '../../src/platform/auth/roles.js'
import { eventsOf } from '../../src/platform/events.js'
import { build, createUnit, type TestApp, type TestContext } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'

const DAY = 86_400_000
const owner = { name: 'Li Wei', contact: 'liwei@example.edu.cn' }
const steward = { unit: 'CS', sub: 'cs-steward' }
const mathSteward = { unit: 'MATH', sub: 'math-steward' }

/** Two units, each with a published dataset. */
async function setup (t: TestContext, env?: Record<string, string>) {
  const h = await build(t, env ? { env } : {})
  await insertDataset(h, { code: 'students', producer_unit: 'CS' })
  await insertDataset(h, { code: 'courses', producer_unit: 'MATH' })
  return h
}

async function register (h: TestApp, payload: object, claims = steward, role: Role = 'steward') {
  const res = await h.as(role, { method: 'POST', url: '/api/v1/systems', payload }, claims)
  if (res.statusCode !== 201) throw new Error(`registering: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function backdate (h: TestApp, id: string, days: number) {
  await h.database.db.updateTable('business_systems')
    .set({ confirmed_at: new Date(Date.now() - days * DAY) }).where('id', '=', id).execute()
}

async function systemRows (h: TestApp) {
  return await h.database.db.selectFrom('business_systems').selectAll().execute()
}

async function registryEvents (h: TestApp) {
  return await h.database.db.selectFrom('domain_events').selectAll().where('object_type', '=', 'business_system').execute()
}

t.test('a steward registers its unit\'s system; the office, auditors and the steward read it', async (t) => {
  const h = await setup(t)
  const res = await h.as('steward', {
    method: 'POST', url: '/api/v1/systems', payload: { name: 'Student affairs', description: 'enrolment', owner, datasets: ['students'] }
  }, steward)
  t.equal(res.statusCode, 201)
  const created = res.json()
  t.match(created, {
    unit: 'CS',
    name: 'Student affairs',
    description: 'enrolment',
    owner,
    datasets: ['students'],
    confirmedBy: 'cs-steward',
    createdBy: 'cs-steward',
    overdue: false
  })
  t.match(created.id, /^[0-9a-f-]{36}$/)
  t.equal(Date.parse(created.confirmationDue) - Date.parse(created.confirmedAt), 365 * DAY, 'due after the default review period')

  for (const [role, claims] of [['steward', steward], ['security_admin', undefined], ['auditor', undefined]] as const) {
    const got = await h.as(role, { method: 'GET', url: `/api/v1/systems/${created.id}` }, claims)
    t.equal(got.statusCode, 200, `${role} reads it`)
    t.same(got.json(), created)
  }

  const events = await eventsOf(h.database.db, 'business_system', created.id)
  t.equal(events.length, 1)
  t.match(events[0], { service: 'catalog', action: 'system.register', actor_sub: 'cs-steward', actor_unit: 'CS', request_id: /.+/ })
  t.same(events[0]!.details, { unit: 'CS', name: 'Student affairs', datasets: ['students'] })
  t.notMatch(JSON.stringify(events[0]!.details), /liwei@/, 'the owner\'s contact is not copied into the event')

  const none = await register(h, { name: 'Portal', owner })
  t.same(none.datasets, [], 'datasets default to none')
  t.equal(none.description, null)
})

t.test('roles outside the registry are refused everything, and nothing is written', async (t) => {
  const h = await setup(t)
  const system = await register(h, { name: 'Student affairs', owner, datasets: ['students'] })
  const requests: InjectOptions[] = [
    { method: 'POST', url: '/api/v1/systems', payload: { name: 'Other', owner } },
    { method: 'GET', url: '/api/v1/systems' },
    { method: 'GET', url: '/api/v1/systems/consistency' },
    { method: 'GET', url: `/api/v1/systems/${system.id}` },
    { method: 'PATCH', url: `/api/v1/systems/${system.id}`, payload: { name: 'Changed' } },
    { method: 'POST', url: `/api/v1/systems/${system.id}/confirm` },
    { method: 'DELETE', url: `/api/v1/systems/${system.id}` }
  ]
  for (const role of ['consumer', 'system_admin', 'supervisor', 'leadership'] as const) {
    for (const request of requests) {
      const res = await h.as(role, request, { unit: 'CS' })
      t.equal(res.statusCode, 403, `${role} ${request.method} ${request.url}`)
      t.equal(res.json().code, 'AUTH_FORBIDDEN')
    }
  }
  for (const request of requests.filter((r) => r.method !== 'GET')) {
    const res = await h.as('auditor', request, { unit: 'CS' })
    t.equal(res.statusCode, 403, `auditor may not ${request.method} ${request.url}`)
  }
  const rows = await systemRows(h)
  t.equal(rows.length, 1)
  t.equal(rows[0]!.name, 'Student affairs')
  t.equal((await registryEvents(h)).length, 1, 'only the registration was recorded')
})

t.test('another unit\'s steward sees none of it', async (t) => {
  const h = await setup(t)
  const system = await register(h, { name: 'Student affairs', owner, datasets: ['students'] })
  const url = `/api/v1/systems/${system.id}`
  for (const request of [
    { method: 'GET', url },
    { method: 'PATCH', url, payload: { name: 'Taken over' } },
    { method: 'POST', url: `${url}/confirm` },
    { method: 'DELETE', url }
  ] as InjectOptions[]) {
    const res = await h.as('steward', request, mathSteward)
    t.equal(res.statusCode, 404, `${request.method} ${request.url}`)
    t.equal(res.json().code, 'CATALOG_SYSTEM_NOT_FOUND')
  }
  const list = await h.as('steward', { method: 'GET', url: '/api/v1/systems' }, mathSteward)
  t.same(list.json(), { data: [], nextCursor: null })
  const filtered = await h.as('steward', { method: 'GET', url: '/api/v1/systems?unit=CS' }, mathSteward)
  t.same(filtered.json().data, [], 'a unit filter does not widen what a steward sees')

  const foreign = await h.as('steward', {
    method: 'POST', url: '/api/v1/systems', payload: { name: 'Maths portal', owner, datasets: ['courses', 'students'] }
  }, mathSteward)
  t.equal(foreign.statusCode, 400, 'a system feeds its own unit\'s datasets only')
  t.match(foreign.json(), { code: 'VALIDATION_FAILED', errors: [{ in: 'body', field: 'datasets.1', message: /no dataset of unit MATH has the code students/ }] })

  const otherUnit = await h.as('steward', { method: 'POST', url: '/api/v1/systems', payload: { name: 'X', owner, unit: 'CS' } }, mathSteward)
  t.equal(otherUnit.statusCode, 403, 'a steward registers for its own unit only')
  t.equal(otherUnit.json().code, 'CATALOG_SYSTEM_FORBIDDEN')
  const report = await h.as('steward', { method: 'GET', url: '/api/v1/systems/consistency?unit=CS' }, mathSteward)
  t.equal(report.statusCode, 403)

  const rows = await systemRows(h)
  t.same(rows.map((r) => [r.name, r.datasets]), [['Student affairs', ['students']]], 'nothing changed')
  t.equal((await registryEvents(h)).length, 1)
})

t.test('security_admin registers for any unit; auditor+steward reads all but changes its own', async (t) => {
  const h = await setup(t)
  const cs = await register(h, { name: 'Student affairs', owner, unit: 'CS', datasets: ['students'] }, { unit: 'OFFICE', sub: 'office' }, 'security_admin')
  t.equal(cs.unit, 'CS')
  t.equal(cs.confirmedBy, 'office')
  const own = await h.as('security_admin', { method: 'POST', url: '/api/v1/systems', payload: { name: 'Registry', owner } })
  t.equal(own.statusCode, 400, 'the default unit is the caller\'s, which must be registered')
  t.match(own.json().errors, [{ field: 'unit', message: /OFFICE is registered/ }])
  await createUnit(h, 'OFFICE')
  const office = await register(h, { name: 'Registry', owner }, { unit: 'OFFICE', sub: 'office' }, 'security_admin')
  t.equal(office.unit, 'OFFICE')
  const unknown = await h.as('security_admin', { method: 'POST', url: '/api/v1/systems', payload: { name: 'X', owner, unit: 'NOPE' } })
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().errors[0].field, 'unit')

  const patched = await h.as('security_admin', { method: 'PATCH', url: `/api/v1/systems/${cs.id}`, payload: { description: 'by the office' } })
  t.equal(patched.statusCode, 200)
  t.equal(patched.json().description, 'by the office')

  const both = { unit: 'MATH', sub: 'math-auditing-steward' }
  const read = await h.as(['auditor', 'steward'], { method: 'GET', url: `/api/v1/systems/${cs.id}` }, both)
  t.equal(read.statusCode, 200, 'the auditor role reads every unit')
  const change = await h.as(['auditor', 'steward'], { method: 'POST', url: `/api/v1/systems/${cs.id}/confirm` }, both)
  t.equal(change.statusCode, 403, 'but the steward role changes its own unit only')
  t.equal(change.json().code, 'CATALOG_SYSTEM_FORBIDDEN')
})

t.test('bad input is a 400 naming the field, and nothing is written', async (t) => {
  const h = await setup(t)
  await insertDataset(h, { code: 'old_roster', producer_unit: 'CS', status: 'retired' })
  const valid = { name: 'Student affairs', owner, datasets: ['students'] }
  const cases: [string, unknown, string][] = [
    ['missing owner', { name: 'x' }, 'owner'],
    ['owner without contact', { name: 'x', owner: { name: 'n' } }, 'owner.contact'],
    ['empty name', { ...valid, name: '' }, 'name'],
    ['name too long', { ...valid, name: 'x'.repeat(201) }, 'name'],
    ['name not a string', { ...valid, name: 7 }, 'name'],
    ['unknown field', { ...valid, budget: 1 }, 'budget'],
    ['datasets not an array', { ...valid, datasets: 'students' }, 'datasets'],
    ['bad dataset code', { ...valid, datasets: ['a b'] }, 'datasets.0'],
    ['repeated dataset', { ...valid, datasets: ['students', 'students'] }, 'datasets'],
    ['bad unit code', { ...valid, unit: 'c/s' }, 'unit'],
    ['unknown dataset', { ...valid, datasets: ['students', 'nope'] }, 'datasets.1'],
    ['retired dataset', { ...valid, datasets: ['old_roster'] }, 'datasets.0']
  ]
  for (const [label, payload, field] of cases) {
    const res = await h.as('steward', { method: 'POST', url: '/api/v1/systems', payload: payload as object }, steward)
    t.equal(res.statusCode, 400, label)
    t.equal(res.json().code, 'VALIDATION_FAILED', label)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === field), `${label} names ${field}: ${res.body}`)
  }
  const retired = await h.as('steward', { method: 'POST', url: '/api/v1/systems', payload: { ...valid, datasets: ['old_roster'] } }, steward)
  t.match(retired.json().detail, /old_roster is retired/)

  const system = await register(h, valid)
  const patches: [string, unknown, string][] = [
    ['empty patch', {}, ''],
    ['the unit is permanent', { unit: 'MATH' }, 'unit'],
    ['null owner', { owner: null }, 'owner'],
    ['another unit\'s dataset', { datasets: ['courses'] }, 'datasets.0']
  ]
  for (const [label, payload, field] of patches) {
    const res = await h.as('steward', { method: 'PATCH', url: `/api/v1/systems/${system.id}`, payload: payload as object }, steward)
    t.equal(res.statusCode, 400, label)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === field), `${label} names ${field || 'the body'}: ${res.body}`)
  }
  for (const url of ['/api/v1/systems/not-a-uuid', '/api/v1/systems/123/confirm']) {
    const res = await h.as('steward', { method: url.endsWith('confirm') ? 'POST' : 'GET', url }, steward)
    t.equal(res.statusCode, 400, url)
    t.match(res.json().errors, [{ in: 'params', field: 'id' }])
  }
  for (const query of ['limit=0', 'limit=201', 'overdue=maybe', 'dataset=a%20b', 'cursor=!!', 'cursor=bm90LWpzb24', 'other=1']) {
    const res = await h.as('steward', { method: 'GET', url: `/api/v1/systems?${query}` }, steward)
    t.equal(res.statusCode, 400, query)
  }
  const rows = await systemRows(h)
  t.same(rows.map((r) => [r.name, r.datasets]), [['Student affairs', ['students']]], 'only the valid registration exists, unchanged')
  t.equal((await registryEvents(h)).length, 1)
})

t.test('a name is unique within its unit', async (t) => {
  const h = await setup(t)
  await register(h, { name: 'Portal', owner })
  const other = await register(h, { name: 'Other', owner })
  const duplicate = await h.as('steward', { method: 'POST', url: '/api/v1/systems', payload: { name: 'Portal', owner: { name: 'X', contact: 'x' } } }, steward)
  t.equal(duplicate.statusCode, 409)
  t.match(duplicate.json(), { code: 'CATALOG_SYSTEM_EXISTS', detail: /CS .*"Portal"/ })
  const elsewhere = await h.as('steward', { method: 'POST', url: '/api/v1/systems', payload: { name: 'Portal', owner } }, mathSteward)
  t.equal(elsewhere.statusCode, 201, 'another unit may use the name')

  const rename = await h.as('steward', { method: 'PATCH', url: `/api/v1/systems/${other.id}`, payload: { name: 'Portal', description: 'x' } }, steward)
  t.equal(rename.statusCode, 409)
  t.equal(rename.json().code, 'CATALOG_SYSTEM_EXISTS')
  const after = await h.as('steward', { method: 'GET', url: `/api/v1/systems/${other.id}` }, steward)
  t.match(after.json(), { name: 'Other', description: null }, 'the refused patch changed nothing')
  t.equal((await registryEvents(h)).length, 3)
})

t.test('update, confirm and decommission, each recorded', async (t) => {
  const h = await setup(t)
  await insertDataset(h, { code: 'enrolment', producer_unit: 'CS', status: 'draft' })
  const system = await register(h, { name: 'Student affairs', owner, datasets: ['students'] })
  const url = `/api/v1/systems/${system.id}`
  await backdate(h, system.id, 400)

  const patched = await h.as('steward', { method: 'PATCH', url, payload: { owner: { name: 'Zhang Min', contact: '+86 22 8888 0000' }, datasets: ['students', 'enrolment'] } }, steward)
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { name: 'Student affairs', owner: { name: 'Zhang Min' }, datasets: ['students', 'enrolment'], overdue: true })
  t.ok(Date.parse(patched.json().updatedAt) >= Date.parse(system.updatedAt))

  const confirmed = await h.as('steward', { method: 'POST', url: `${url}/confirm` }, { unit: 'CS', sub: 'reviewer' })
  t.equal(confirmed.statusCode, 200)
  t.match(confirmed.json(), { confirmedBy: 'reviewer', overdue: false })
  t.ok(Date.now() - Date.parse(confirmed.json().confirmedAt) < 60_000, 'confirmed now')

  const removed = await h.as('steward', { method: 'DELETE', url }, steward)
  t.equal(removed.statusCode, 204)
  t.equal(removed.body, '')
  t.equal((await h.as('steward', { method: 'GET', url }, steward)).statusCode, 404)
  t.equal((await h.as('steward', { method: 'DELETE', url }, steward)).statusCode, 404, 'gone')

  const events = await eventsOf(h.database.db, 'business_system', system.id)
  t.same(events.map((e) => e.action), ['system.register', 'system.update', 'system.confirm', 'system.remove'])
  t.match(events[1]!.details, { changed: ['owner', 'datasets'], datasets: { before: ['students'], after: ['students', 'enrolment'] } })
  t.match(events[2]!.details, { previouslyConfirmedAt: /^\d{4}-/ })
  t.equal(events[2]!.actor_sub, 'reviewer')
  t.match(events[3]!.details, { unit: 'CS', name: 'Student affairs', datasets: ['students', 'enrolment'] })
})

t.test('the list pages and filters', async (t) => {
  const h = await setup(t)
  await createUnit(h, 'LAW')
  const names = ['A', 'B', 'C']
  for (const name of names) await register(h, { name: `CS ${name}`, owner, datasets: name === 'B' ? ['students'] : [] })
  await register(h, { name: 'Maths', owner, datasets: ['courses'] }, mathSteward)
  const law = await register(h, { name: 'Law', owner }, { unit: 'LAW', sub: 'law' })
  await backdate(h, law.id, 366)

  const seen: string[] = []
  let cursor: string | null = null
  do {
    const res = await h.as('auditor', { method: 'GET', url: '/api/v1/systems', query: { limit: '2', ...(cursor ? { cursor } : {}) } })
    t.equal(res.statusCode, 200)
    seen.push(...res.json().data.map((s: { unit: string, name: string }) => `${s.unit}/${s.name}`))
    cursor = res.json().nextCursor
  } while (cursor)
  t.same(seen, ['CS/CS A', 'CS/CS B', 'CS/CS C', 'LAW/Law', 'MATH/Maths'])

  const list = async (query: string, claims?: { unit: string }, role: Role = 'security_admin') =>
    (await h.as(role, { method: 'GET', url: `/api/v1/systems?${query}` }, claims)).json().data.map((s: { name: string }) => s.name)
  t.same(await list('unit=MATH'), ['Maths'])
  t.same(await list('dataset=students'), ['CS B'])
  t.same(await list('overdue=true'), ['Law'])
  t.same(await list('overdue=false&unit=LAW'), [])
  t.same(await list('', steward, 'steward'), ['CS A', 'CS B', 'CS C'], 'a steward lists its own unit')
  const overdue = await h.as('security_admin', { method: 'GET', url: '/api/v1/systems?overdue=true' })
  t.match(overdue.json().data[0], { overdue: true })
})

t.test('the consistency check finds what the registry and the catalog disagree on', async (t) => {
  const h = await setup(t)
  await insertDataset(h, { code: 'enrolment', producer_unit: 'CS', status: 'draft' })
  await insertDataset(h, { code: 'graduates', producer_unit: 'CS' })
  await insertDataset(h, { code: 'old_roster', producer_unit: 'CS', status: 'retired' })
  const affairs = await register(h, { name: 'Affairs', owner, datasets: ['students'] })
  const empty = await register(h, { name: 'Empty', owner })
  const admissions = await register(h, { name: 'Admissions', owner, datasets: ['enrolment', 'graduates'] })
  await backdate(h, affairs.id, 400)
  // the catalog moves on: a listed dataset is retired, another destroyed
  await h.database.db.updateTable('datasets').set({ status: 'retired' }).where('code', '=', 'enrolment').execute()
  await h.database.db.updateTable('datasets').set({ status: 'destroyed' }).where('code', '=', 'graduates').execute()
  await insertDataset(h, { code: 'alumni', producer_unit: 'CS' })

  const res = await h.as('steward', { method: 'GET', url: '/api/v1/systems/consistency' }, steward)
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.match(report, { unit: 'CS', reviewPeriodDays: 365, ok: false })
  t.same(report.datasetsWithoutSystem, [{ code: 'alumni', name: 'Dataset alumni', producerUnit: 'CS', status: 'published' }],
    'drafts and published datasets fed by no system; retired ones are not expected to be fed')
  t.same(report.systemsFeedingNothing.map((s: { name: string }) => s.name), ['Admissions', 'Empty'])
  t.same(report.unconfirmed.map((s: { id: string, overdue: boolean }) => [s.id, s.overdue]), [[affairs.id, true]])
  t.same(report.unknownDatasets, [
    { system: { id: admissions.id, unit: 'CS', name: 'Admissions' }, dataset: 'enrolment', reason: 'retired' },
    { system: { id: admissions.id, unit: 'CS', name: 'Admissions' }, dataset: 'graduates', reason: 'destroyed' }
  ])
  t.ok(Date.parse(report.checkedAt))

  const everyUnit = (await h.as('auditor', { method: 'GET', url: '/api/v1/systems/consistency' })).json()
  t.equal(everyUnit.unit, null)
  t.same(everyUnit.datasetsWithoutSystem.map((d: { code: string }) => d.code), ['alumni', 'courses'], 'every unit\'s datasets, MATH\'s too')
  const math = (await h.as('security_admin', { method: 'GET', url: '/api/v1/systems/consistency?unit=MATH' })).json()
  t.same(math.datasetsWithoutSystem.map((d: { code: string }) => d.code), ['courses'])
  t.same(math.systemsFeedingNothing, [])

  // the unit puts its registry in order
  await h.as('steward', { method: 'POST', url: `/api/v1/systems/${affairs.id}/confirm` }, steward)
  await h.as('steward', { method: 'PATCH', url: `/api/v1/systems/${admissions.id}`, payload: { datasets: ['alumni'] } }, steward)
  await h.as('steward', { method: 'DELETE', url: `/api/v1/systems/${empty.id}` }, steward)
  const clean = (await h.as('steward', { method: 'GET', url: '/api/v1/systems/consistency' }, steward)).json()
  t.match(clean, { ok: true, datasetsWithoutSystem: [], systemsFeedingNothing: [], unconfirmed: [], unknownDatasets: [] })
})

t.test('the review period comes from ASSET_REVIEW_DAYS', async (t) => {
  const h = await setup(t, { ASSET_REVIEW_DAYS: '30' })
  const system = await register(h, { name: 'Affairs', owner, datasets: ['students'] })
  t.equal(Date.parse(system.confirmationDue) - Date.parse(system.confirmedAt), 30 * DAY)
  await backdate(h, system.id, 29)
  let report = (await h.as('auditor', { method: 'GET', url: '/api/v1/systems/consistency?unit=CS' })).json()
  t.match(report, { reviewPeriodDays: 30, unconfirmed: [] })
  await backdate(h, system.id, 31)
  report = (await h.as('auditor', { method: 'GET', url: '/api/v1/systems/consistency?unit=CS' })).json()
  t.same(report.unconfirmed.map((s: { name: string }) => s.name), ['Affairs'])
})
