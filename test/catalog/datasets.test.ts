import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { eventsOf } from '../../src/platform/events.js'
import { build, createUnit, type TestApp } from '../helpers/build.js'
import { COLLECTION, confirmGrading } from '../helpers/catalog.js'

const steward = (unit: string) => ({ unit, sub: `steward-${unit.toLowerCase()}` })

function studentDataset (overrides: Record<string, unknown> = {}) {
  return {
    code: 'student_basic',
    name: 'Student basic information',
    subject: 'Student basic information',
    category: 'student',
    shareAttribute: 'conditional',
    openAttribute: 'none',
    personnelBasic: true,
    updateFrequency: 'daily',
    retentionDays: 3650,
    primaryKey: ['student_id'],
    personKey: 'student_id',
    fields: [
      { name: 'student_id', type: 'string', required: true, piType: 'student_id' },
      { name: 'name', type: 'string', required: true, piType: 'name' },
      { name: 'id_number', type: 'string', piType: 'id_number' },
      { name: 'college', type: 'string', enum: ['CS', 'MATH'] }
    ],
    collection: COLLECTION,
    ...overrides
  }
}

const plainDataset = (code: string, overrides: Record<string, unknown> = {}) => ({
  code,
  name: `Dataset ${code}`,
  subject: `subject of ${code}`,
  category: 'routine',
  shareAttribute: 'unconditional',
  openAttribute: 'none',
  updateFrequency: 'monthly',
  retentionDays: 365,
  primaryKey: ['id'],
  fields: [{ name: 'id', type: 'string', required: true }, { name: 'title', type: 'string' }],
  ...overrides
})

async function setup (t: Parameters<typeof build>[0]) {
  const h = await build(t)
  for (const unit of ['CS', 'MATH', 'OFFICE']) await createUnit(h, unit)
  return h
}

async function register (h: TestApp, body: object, unit = 'CS'): Promise<LightMyRequestResponse> {
  return await h.as('steward', { method: 'POST', url: '/api/v1/datasets', payload: body }, steward(unit))
}

async function created (h: TestApp, body: object, unit = 'CS') {
  const res = await register(h, body, unit)
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`)
  return res.json()
}

const get = (h: TestApp, code: string, role: Parameters<TestApp['as']>[0], unit: string) =>
  h.as(role, { method: 'GET', url: `/api/v1/datasets/${code}` }, { unit })
const patch = (h: TestApp, code: string, payload: object, role: Parameters<TestApp['as']>[0] = 'steward', unit = 'CS') =>
  h.as(role, { method: 'PATCH', url: `/api/v1/datasets/${code}`, payload }, role === 'steward' ? steward(unit) : { unit })
const publish = (h: TestApp, code: string, unit = 'CS') =>
  h.as('steward', { method: 'POST', url: `/api/v1/datasets/${code}/publish` }, steward(unit))

t.test('a steward registers a draft graded by its fields, publishes it, and everyone finds it', async (t) => {
  const h = await setup(t)
  const res = await register(h, studentDataset())
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.match(body, {
    code: 'student_basic',
    producerUnit: 'CS',
    status: 'draft',
    grade: 'ordinary', // PI fields default to sensitivity 3 → ordinary under the default policy
    nationalGrade: 'general',
    gradeVersion: 1,
    holdsPersonalInfo: true,
    sensitivePersonalInfo: false,
    fieldsHidden: false,
    publishedAt: null,
    grading: { status: 'proposed', decidedBy: null, proposal: null }
  })
  t.match(body.fields[2], { name: 'id_number', piType: 'id_number', sensitivity: 3, format: 'id_number', required: false })
  t.match(body.fields[3], { name: 'college', sensitivity: 1, format: null, enum: ['CS', 'MATH'] })

  // a draft is its producer's and the office's
  t.equal((await get(h, 'student_basic', 'consumer', 'MATH')).statusCode, 404, 'another unit does not see a draft')
  t.equal((await get(h, 'student_basic', 'consumer', 'CS')).statusCode, 200, 'its own unit does')
  t.equal((await get(h, 'student_basic', 'security_admin', 'OFFICE')).statusCode, 200, 'the office does')
  const othersList = await h.as('consumer', { method: 'GET', url: '/api/v1/datasets' }, { unit: 'MATH' })
  t.same(othersList.json().data, [], 'nor does it list it')

  const early = await publish(h, 'student_basic')
  t.equal(early.statusCode, 409, 'not before the office confirmed its grading')
  t.equal(early.json().code, 'CATALOG_GRADING_UNCONFIRMED')
  await confirmGrading(h, 'student_basic')
  const published = await publish(h, 'student_basic')
  t.equal(published.statusCode, 200)
  t.equal(published.json().status, 'published')
  t.ok(Date.parse(published.json().publishedAt))
  t.equal((await publish(h, 'student_basic')).statusCode, 409, 'publishing twice is a conflict')

  const seen = await get(h, 'student_basic', 'consumer', 'MATH')
  t.equal(seen.statusCode, 200)
  t.equal(seen.json().fields.length, 4, 'published metadata is open to every unit')

  const events = await eventsOf(h.database.db, 'dataset', 'student_basic')
  t.same(events.map((e) => e.action), ['dataset.create', 'dataset.grading.confirm', 'dataset.publish'])
  t.match(events[0], { service: 'catalog', actor_sub: 'steward-cs', actor_unit: 'CS', dataset_code: 'student_basic' })
  const history = await h.as('consumer', { method: 'GET', url: '/api/v1/datasets/student_basic/grades' }, { unit: 'MATH' })
  t.match(history.json().data, [{ version: 1, grade: 'ordinary', reason: /registered; field \w+ has sensitivity 3/ }])
})

t.test('grading follows the data: highest wins, and the rules on attributes hold', async (t) => {
  const h = await setup(t)
  const ethnicity = { name: 'ethnicity', type: 'string', piType: 'ethnicity' }
  const cases: [string, object, string, RegExp][] = [
    ['grade below the fields', studentDataset({ grade: 'internal_public' }), 'grade', /at least ordinary because field \w+ has sensitivity 3/],
    ['sensitive PI marked low', studentDataset({ fields: [...studentDataset().fields, { ...ethnicity, sensitivity: 2 }] }), 'fields.4.sensitivity', /at least 4 .*sensitive, R9.2/],
    ['important shared unconditionally', studentDataset({ fields: [...studentDataset().fields, ethnicity], shareAttribute: 'unconditional' }), 'shareAttribute', /graded important/],
    ['children\'s PI opened unconditionally', plainDataset('kids', { childrenPersonalInfo: true, openAttribute: 'unconditional', shareAttribute: 'conditional' }), 'openAttribute', /children under 14/],
    ['national grade below the policy', studentDataset({ fields: [...studentDataset().fields, ethnicity], nationalGrade: 'general' }), 'nationalGrade', /at least important/],
    ['restricted by a steward', studentDataset({ restricted: true }), '', /./],
    ['primary key of no field', studentDataset({ primaryKey: ['sid'] }), 'primaryKey.0', /names no field/],
    ['person key of no field', studentDataset({ personKey: 'who' }), 'personKey', /names no field/],
    ['duplicate field', studentDataset({ fields: [...studentDataset().fields, { name: 'Name', type: 'string' }] }), 'fields.4.name', /duplicates/],
    ['bad pattern', plainDataset('p', { fields: [{ name: 'id', type: 'string', pattern: '([' }] }), 'fields.0.pattern', /regular expression/],
    ['catastrophic pattern', plainDataset('r', { fields: [{ name: 'id', type: 'string', pattern: '^(a+)+$' }] }), 'fields.0.pattern', /catastrophic/],
    ['enum of the wrong type', plainDataset('e', { fields: [{ name: 'id', type: 'integer', enum: ['a'] }] }), 'fields.0.enum.0', /type integer/],
    ['minimum on a string', plainDataset('m', { fields: [{ name: 'id', type: 'string', minimum: 1 }] }), 'fields.0.minimum', /integer and number/],
    ['unknown property', studentDataset({ owner: 'x' }), 'owner', /not a known field/],
    ['unknown category', studentDataset({ category: 'sports' }), 'category', /./],
    ['unknown PI type', studentDataset({ fields: [{ name: 'student_id', type: 'string', piType: 'shoe_size' }] }), 'fields.0.piType', /./],
    ['too many key fields', studentDataset({ primaryKey: ['a', 'b', 'c', 'd', 'e'] }), 'primaryKey', /./]
  ]
  for (const [label, payload, field, message] of cases) {
    const res = await register(h, payload)
    if (label === 'restricted by a steward') {
      t.equal(res.statusCode, 403, label)
      continue
    }
    t.equal(res.statusCode, 400, `${label}: ${res.body}`)
    const problem = res.json()
    t.equal(problem.type, 'urn:problem:datagate:validation-failed')
    t.ok(problem.errors.some((e: { field: string, message: string }) => e.field === field && message.test(e.message)), `${label} names ${field}: ${JSON.stringify(problem.errors)}`)
  }
  const all = await h.as('security_admin', { method: 'GET', url: '/api/v1/datasets' })
  t.same(all.json().data, [], 'nothing was written')
  t.same(await h.database.db.selectFrom('domain_events').select('id').where('object_type', '<>', 'unit').execute(), [], 'no event either')

  // sensitive PI makes the dataset important on its own, with the sensitive flag set
  const sensitive = await created(h, studentDataset({ fields: [...studentDataset().fields, ethnicity] }))
  t.match(sensitive, { grade: 'important', nationalGrade: 'important', sensitivePersonalInfo: true })
  t.match(sensitive.fields[4], { sensitivity: 4 })
})

t.test('one data, one source: a second dataset for a subject is refused, naming the first', async (t) => {
  const h = await setup(t)
  await created(h, studentDataset())
  const res = await register(h, studentDataset({ code: 'students_copy', subject: 'STUDENT BASIC INFORMATION' }), 'MATH')
  t.equal(res.statusCode, 409)
  t.match(res.json(), { code: 'CATALOG_SUBJECT_TAKEN', detail: /dataset student_basic of unit CS/ })
  t.equal((await register(h, studentDataset({ subject: 'other' }))).json().code, 'CATALOG_DATASET_EXISTS', 'a taken code is a conflict too')
  await created(h, plainDataset('courses'))
  const renamed = await patch(h, 'courses', { subject: 'student basic information' })
  t.equal(renamed.statusCode, 409, 'nor can an edit take a subject over')
  t.equal((await get(h, 'courses', 'steward', 'CS')).json().subject, 'subject of courses')
  const otherUnit = await register(h, studentDataset({ code: 'x', subject: 'y', producerUnit: 'CS' }), 'MATH')
  t.equal(otherUnit.statusCode, 403, 'a steward registers for its own unit only')
  t.equal(otherUnit.json().code, 'CATALOG_NOT_PRODUCER')
  const office = await h.as('security_admin', { method: 'POST', url: '/api/v1/datasets', payload: plainDataset('fin', { producerUnit: 'MATH' }) })
  t.equal(office.statusCode, 201, 'the office registers for any unit')
  t.equal(office.json().producerUnit, 'MATH')
  const ghost = await h.as('security_admin', { method: 'POST', url: '/api/v1/datasets', payload: plainDataset('g', { producerUnit: 'NOPE' }) })
  t.equal(ghost.statusCode, 400)
  t.equal(ghost.json().errors[0].field, 'producerUnit')
})

t.test('editing: the producer edits, the office grades, every regrade is a version with its reason', async (t) => {
  const h = await setup(t)
  await created(h, studentDataset())
  t.equal((await patch(h, 'student_basic', { name: 'x' }, 'steward', 'MATH')).statusCode, 404, 'another unit\'s steward does not see the draft')
  await confirmGrading(h, 'student_basic')
  t.equal((await publish(h, 'student_basic')).statusCode, 200)
  const foreign = await patch(h, 'student_basic', { name: 'x' }, 'steward', 'MATH')
  t.equal(foreign.statusCode, 403, 'nor may it edit the published entry')
  t.equal(foreign.json().code, 'CATALOG_NOT_PRODUCER')

  const described = await patch(h, 'student_basic', { description: 'one row per enrolled student', updateFrequency: 'weekly' })
  t.equal(described.statusCode, 200)
  t.match(described.json(), { description: 'one row per enrolled student', updateFrequency: 'weekly', gradeVersion: 1 })

  const stewardRestricts = await patch(h, 'student_basic', { restricted: true })
  t.equal(stewardRestricts.statusCode, 403, 'restricted metadata is the office\'s')
  t.match(stewardRestricts.json().detail, /restricted is set by the data-management office/)

  const regraded = await patch(h, 'student_basic', { grade: 'important', restricted: true, reason: 'holds ID numbers of all students' }, 'security_admin', 'OFFICE')
  t.equal(regraded.statusCode, 200, regraded.body)
  t.match(regraded.json(), { grade: 'important', gradeVersion: 2, restricted: true })
  const lower = await patch(h, 'student_basic', { grade: 'internal_public' }, 'security_admin', 'OFFICE')
  t.equal(lower.statusCode, 400, 'not even the office grades below the data')
  t.equal(lower.json().errors[0].field, 'grade')
  const unrestricted = await patch(h, 'student_basic', { grade: 'ordinary', restricted: true }, 'security_admin', 'OFFICE')
  t.equal(unrestricted.statusCode, 400, 'only important metadata is restricted')
  t.equal(unrestricted.json().errors[0].field, 'restricted')

  // restricted metadata: the field list is withheld from other units
  const other = await get(h, 'student_basic', 'consumer', 'MATH')
  t.match(other.json(), { fieldsHidden: true, fields: [], grade: 'important' })
  t.match((await get(h, 'student_basic', 'consumer', 'CS')).json(), { fieldsHidden: false })
  t.equal((await get(h, 'student_basic', 'auditor', 'OFFICE')).json().fields.length, 4)
  const listed = await h.as('consumer', { method: 'GET', url: '/api/v1/datasets?grade=important' }, { unit: 'MATH' })
  t.match(listed.json().data, [{ code: 'student_basic', fieldsHidden: true, fields: [] }])

  // adding a more sensitive field raises the grade by itself
  await created(h, plainDataset('canteen', { shareAttribute: 'conditional' }))
  const before = (await get(h, 'canteen', 'steward', 'CS')).json()
  t.equal(before.grade, 'external_public')
  const fields = [...before.fields.map(({ name, type }: { name: string, type: string }) => ({ name, type })), { name: 'health', type: 'string', piType: 'health' }]
  const raised = await patch(h, 'canteen', { fields })
  t.equal(raised.statusCode, 200, raised.body)
  t.match(raised.json(), { grade: 'important', gradeVersion: 2, sensitivePersonalInfo: true })
  const history = (await h.as('steward', { method: 'GET', url: '/api/v1/datasets/canteen/grades?limit=1' }, steward('CS'))).json()
  t.match(history.data, [{ version: 2, grade: 'important', reason: 'raised to important because field health has sensitivity 4', changedBy: 'steward-cs' }])
  const older = await h.as('steward', { method: 'GET', url: `/api/v1/datasets/canteen/grades?limit=1&cursor=${history.nextCursor}` }, steward('CS'))
  t.match(older.json(), { data: [{ version: 1, grade: 'external_public' }], nextCursor: null })

  const events = await eventsOf(h.database.db, 'dataset', 'student_basic')
  const regrade = events.find((e) => e.action === 'dataset.regrade')
  t.match(regrade?.details, { version: 2, before: { grade: 'ordinary' }, after: { grade: 'important' }, reason: 'holds ID numbers of all students' })
})

t.test('derived datasets are graded at least as their sources, and follow them up', async (t) => {
  const h = await setup(t)
  await created(h, plainDataset('rooms', { shareAttribute: 'conditional' }))
  await created(h, plainDataset('timetable', { shareAttribute: 'conditional', fields: [{ name: 'id', type: 'string', sensitivity: 3 }] }))
  const derived = await created(h, plainDataset('room_use', { sources: ['rooms', 'timetable'], shareAttribute: 'conditional' }))
  t.equal(derived.grade, 'ordinary', 'the highest source decides')
  const low = await register(h, plainDataset('low', { sources: ['timetable'], grade: 'internal_public', shareAttribute: 'conditional' }))
  t.equal(low.statusCode, 400)
  t.match(low.json().errors[0], { field: 'grade', message: /derived from timetable/ })
  const unknown = await register(h, plainDataset('u', { sources: ['rooms', 'nothing'] }))
  t.match(unknown.json().errors[0], { field: 'sources.1', message: /no dataset with code nothing/ })

  const up = await patch(h, 'timetable', { grade: 'important', reason: 'exam rooms' }, 'security_admin', 'OFFICE')
  t.equal(up.statusCode, 200, up.body)
  const after = (await get(h, 'room_use', 'steward', 'CS')).json()
  t.match(after, { grade: 'important', gradeVersion: 2 })
  const reasons = (await h.as('steward', { method: 'GET', url: '/api/v1/datasets/room_use/grades' }, steward('CS'))).json().data
  t.match(reasons[0], { reason: 'raised to important: derived from timetable, graded important' })

  // a source cannot be raised past what a derived dataset's attributes allow
  await created(h, plainDataset('open_rooms', { sources: ['rooms'], shareAttribute: 'unconditional' }))
  const blocked = await patch(h, 'rooms', { grade: 'important' }, 'security_admin', 'OFFICE')
  t.equal(blocked.statusCode, 409)
  t.match(blocked.json(), { code: 'CATALOG_GRADING_CONFLICT', detail: /open_rooms/ })
  t.equal((await get(h, 'rooms', 'steward', 'CS')).json().grade, 'external_public', 'nothing changed')
})

t.test('the grading policy is the office\'s, and a change regrades the catalog or nothing', async (t) => {
  const h = await setup(t)
  const policy = await h.as('consumer', { method: 'GET', url: '/api/v1/grading-policy' })
  t.equal(policy.statusCode, 200)
  const levels = policy.json().levels
  t.match(levels[3], { sensitivity: 4, minimumGrade: 'important', nationalGrade: 'important' })
  await created(h, studentDataset())
  await created(h, plainDataset('menu', { fields: [{ name: 'id', type: 'string', sensitivity: 2 }] }))

  const stricter = levels.map((l: { sensitivity: number }) => l.sensitivity === 3 ? { ...l, minimumGrade: 'important', nationalGrade: 'important' } : l)
  const put = (payload: object) => h.as('security_admin', { method: 'PUT', url: '/api/v1/grading-policy', payload }, { unit: 'OFFICE', sub: 'office' })
  const changed = await put({ levels: stricter, reason: 'PI is important data here' })
  t.equal(changed.statusCode, 200, changed.body)
  t.same(changed.json().regraded, ['student_basic'])
  t.equal(changed.json().updatedBy, 'office')
  t.match((await get(h, 'student_basic', 'steward', 'CS')).json(), { grade: 'important', nationalGrade: 'important', gradeVersion: 2 })

  // menu is shared unconditionally: raising it to important would break that, so nothing changes
  const strictest = stricter.map((l: { sensitivity: number }) => l.sensitivity === 2 ? { ...l, minimumGrade: 'important' } : l)
  const refused = await put({ levels: strictest })
  t.equal(refused.statusCode, 409, 'a change that would break attributes is refused')
  t.match(refused.json().detail, /menu \(shareAttribute\)/)
  t.equal((await h.as('consumer', { method: 'GET', url: '/api/v1/grading-policy' })).json().levels[1].minimumGrade, 'internal_public', 'the policy is unchanged')

  const inverted = levels.map((l: { sensitivity: number }) => l.sensitivity === 1 ? { ...l, minimumGrade: 'important' } : l)
  const bad = await put({ levels: inverted })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().errors[0].field, 'levels.1.minimumGrade')
  const twice = await put({ levels: [levels[0], levels[0], levels[2], levels[3]] })
  t.equal(twice.statusCode, 400)
  t.equal(twice.json().errors[0].field, 'levels')
  t.equal((await h.as('steward', { method: 'PUT', url: '/api/v1/grading-policy', payload: { levels } })).statusCode, 403)
})

t.test('search: filters, pagination and cursors', async (t) => {
  const h = await setup(t)
  await created(h, studentDataset())
  await created(h, plainDataset('canteen_menu', { category: 'routine', description: 'weekly menus' }))
  await created(h, plainDataset('library_loans', { category: 'teaching', shareAttribute: 'conditional' }), 'MATH')
  for (const code of ['student_basic', 'canteen_menu', 'library_loans']) await confirmGrading(h, code)
  for (const code of ['student_basic', 'canteen_menu']) await publish(h, code)
  await publish(h, 'library_loans', 'MATH')
  const search = async (qs: string) => {
    const res = await h.as('consumer', { method: 'GET', url: `/api/v1/datasets?${qs}` }, { unit: 'LAW' })
    t.equal(res.statusCode, 200, qs)
    return res.json().data.map((d: { code: string }) => d.code)
  }
  t.same(await search(''), ['canteen_menu', 'library_loans', 'student_basic'])
  t.same(await search('q=MENUS'), ['canteen_menu'], 'q matches the description, case-insensitively')
  t.same(await search('q=100%25'), [], 'LIKE wildcards are literal')
  t.same(await search('category=teaching'), ['library_loans'])
  t.same(await search('grade=ordinary'), ['student_basic'])
  t.same(await search('shareAttribute=conditional'), ['library_loans', 'student_basic'])
  t.same(await search('producer=MATH'), ['library_loans'])
  t.same(await search('status=draft'), [])
  const first = (await h.as('consumer', { method: 'GET', url: '/api/v1/datasets?limit=2' })).json()
  t.equal(first.data.length, 2)
  const second = (await h.as('consumer', { method: 'GET', url: `/api/v1/datasets?limit=2&cursor=${first.nextCursor}` })).json()
  t.same(second.data.map((d: { code: string }) => d.code), ['student_basic'])
  t.equal(second.nextCursor, null)
  for (const qs of ['limit=0', 'limit=201', 'grade=secret', 'cursor=bm90LWEtY3Vyc29y', 'sort=name']) {
    const res = await h.as('consumer', { method: 'GET', url: `/api/v1/datasets?${qs}` })
    t.equal(res.statusCode, 400, qs)
  }
  const grades = await h.as('consumer', { method: 'GET', url: '/api/v1/datasets/student_basic/grades?cursor=WyJ4Il0' })
  t.equal(grades.statusCode, 400, 'a history cursor of the wrong shape')
})

t.test('keys, states and unknown datasets', async (t) => {
  const h = await setup(t)
  await created(h, studentDataset())
  await h.database.db.insertInto('records').values({
    dataset_code: 'student_basic',
    record_key: '2024000001',
    data: JSON.stringify({ student_id: '2024000001' }),
    person_key: '2024000001',
    batch_id: '00000000-0000-4000-8000-000000000001',
    source_unit: 'CS',
    source_sub: 'steward-cs',
    source_client: null
  }).execute()
  const rekey = await patch(h, 'student_basic', { primaryKey: ['name'] })
  t.equal(rekey.statusCode, 409, 'the key cannot change under stored records')
  t.equal(rekey.json().code, 'CATALOG_DATASET_STATE')
  await h.database.db.updateTable('datasets').set({ status: 'retired' }).where('code', '=', 'student_basic').execute()
  t.equal((await patch(h, 'student_basic', { name: 'x' })).statusCode, 409, 'a retired dataset is frozen')
  t.equal((await publish(h, 'student_basic')).statusCode, 409)
  for (const [method, url] of [['GET', '/api/v1/datasets/nope'], ['PATCH', '/api/v1/datasets/nope'], ['POST', '/api/v1/datasets/nope/publish'], ['GET', '/api/v1/datasets/nope/grades'],
    ['POST', '/api/v1/datasets/nope/grading-review']] as const) {
    const payload = method === 'PATCH' ? { name: 'x' } : url.endsWith('review') ? { decision: 'confirm' } : undefined
    const res = await h.as('security_admin', { method, url, ...(payload ? { payload } : {}) })
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.equal(res.json().code, 'CATALOG_DATASET_NOT_FOUND')
  }
  t.equal((await h.as('security_admin', { method: 'GET', url: '/api/v1/datasets/bad%20code' })).statusCode, 400)
  t.equal((await patch(h, 'student_basic', {})).statusCode, 400, 'an empty change')
})
