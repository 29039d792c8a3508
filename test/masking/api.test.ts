import t from 'tap'
import { idNumberCheckCharacter } from '../../src/platform/id-number.js'
import { eventsOf } from '../../src/platform/events.js'
import { build, type TestApp } from '../helpers/build.js'
import { field, insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'

const validId = (first17: string) => first17 + idNumberCheckCharacter(first17)
const ADULT_ID = validId('11010519491231002')
const CHILD_ID = validId('11010520180307002')

const apply = (h: TestApp, payload: object, role: Parameters<TestApp['as']>[0] = 'consumer', unit = 'MATH') =>
  h.as(role, { method: 'POST', url: '/api/v1/masking/apply', payload }, { unit })

const student = {
  student_id: '2026000001',
  name: '欧阳娜娜',
  id_number: ADULT_ID,
  phone: '13812345678',
  email: 'nana@example.edu.cn',
  college: 'CS',
  year: 2026,
  gpa: 3.7
}

t.test('apply with rules: each rule masks its field, a piType without parameters takes the default format', async (t) => {
  const h = await build(t)
  const res = await apply(h, {
    rows: [student, { ...student, phone: 13912345678, name: null }],
    rules: {
      name: { strategy: 'mask', piType: 'name' },
      phone: { strategy: 'mask', piType: 'phone' },
      id_number: { strategy: 'hash', algorithm: 'sm3', length: 16 },
      email: { strategy: 'redact' }
    }
  })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.match(body.rows[0], { name: '欧阳**', phone: '138****5678', college: 'CS', year: 2026 })
  t.match(body.rows[0].id_number, /^[0-9a-f]{16}$/)
  t.notOk('email' in body.rows[0], 'redact drops the field')
  t.equal(body.rows[1].phone, '139****5678', 'a number under a string rule is masked, not refused')
  t.equal(body.rows[1].name, null)
  t.same(body.masked.sort(), ['email', 'id_number', 'name', 'phone'])
  const again = (await apply(h, { rows: [student], rules: { id_number: { strategy: 'hash', algorithm: 'sm3', length: 16 } } })).json()
  t.equal(again.rows[0].id_number, body.rows[0].id_number, 'stable for one unit and scope')
  const otherUnit = (await apply(h, { rows: [student], rules: { id_number: { strategy: 'hash', algorithm: 'sm3', length: 16 } } }, 'consumer', 'LAW')).json()
  t.not(otherUnit.rows[0].id_number, body.rows[0].id_number, 'another unit gets unrelated hashes')
  const scoped = (await apply(h, { rows: [student], rules: { id_number: { strategy: 'hash', algorithm: 'sm3', length: 16 } }, scope: 'study-2' })).json()
  t.not(scoped.rows[0].id_number, body.rows[0].id_number, 'another scope too')
})

t.test('apply refuses bad rules naming the rule, and too many rows with 413', async (t) => {
  const h = await build(t)
  const cases: [object, string][] = [
    [{ rows: [student], rules: { phone: { strategy: 'scramble' } } }, 'rules.phone.strategy'],
    [{ rows: [student], rules: { phone: { strategy: 'mask', keepFrist: 3 } } }, 'rules.phone.keepFrist'],
    [{ rows: [student], rules: { phone: { strategy: 'hash', length: 2 } } }, 'rules.phone.length'],
    [{ rows: [student], rules: { phone: {} } }, 'rules.phone.strategy'],
    [{ rows: [student] }, 'rules'],
    [{ rows: [student], rules: {}, dataset: 'students' }, 'rules'],
    [{ rows: [student], rules: {}, profile: 'display' }, 'profile']
  ]
  for (const [payload, fieldName] of cases) {
    const res = await apply(h, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.ok(res.json().errors.some((e: { field: string }) => e.field === fieldName), `${res.body} names ${fieldName}`)
  }
  const many = await apply(h, { rows: Array.from({ length: 10_001 }, (_, i) => ({ i })), rules: {} })
  t.equal(many.statusCode, 413)
  t.equal(many.json().code, 'MASKING_TOO_MANY_ROWS')
  const hostile = await apply(h, {
    rows: [{ name: '\ud800\u0000\u001b[2J' + 'x'.repeat(100_000), phone: { toString: 'boom' }, id_number: ['a'] }],
    rules: { name: { strategy: 'mask', piType: 'name' }, phone: { strategy: 'mask', piType: 'phone' }, id_number: { strategy: 'tokenize' } }
  })
  t.equal(hostile.statusCode, 200, 'hostile strings and objects are masked, never a crash')
  t.equal(hostile.json().rows[0].phone, null)
  t.match(hostile.json().rows[0].id_number, /^tka_/)
})

t.test('apply with a dataset policy: profiles differ, unknown fields are dropped, PI fails closed', async (t) => {
  const h = await build(t)
  await insertDataset(h, {
    fields: [
      ...STUDENT_FIELDS,
      field('ethnicity', 'string', { piType: 'ethnicity', sensitivity: 4 }),
      field('health_note', 'string', { piType: 'health', sensitivity: 4 }),
      field('nickname', 'string', { piType: 'other', sensitivity: 3, masking: { strategy: 'mask', keepFirst: 1 } })
    ]
  })
  const row = { ...student, ethnicity: '汉族', health_note: 'asthma', nickname: 'Nana', secret_extra: 'x' }
  const display = (await apply(h, { rows: [row], dataset: 'students' })).json()
  t.match(display, { profile: 'display', policyVersion: 0 })
  t.match(display.rows[0], { name: '欧阳**', phone: '138****5678', id_number: '110105********002X', email: 'n***@example.edu.cn', college: 'CS', nickname: 'N***' })
  t.notOk('ethnicity' in display.rows[0], 'sensitive PI without a rule is dropped')
  t.notOk('health_note' in display.rows[0])
  t.notOk('secret_extra' in display.rows[0], 'a field the dataset does not define never passes')
  t.ok(display.masked.includes('secret_extra'))
  t.notOk(display.masked.includes('college'))

  const third = (await apply(h, { rows: [row], dataset: 'students', profile: 'third_party' })).json()
  t.match(third.rows[0].id_number, /^[0-9a-f]{32}$/, 'identifiers are pseudonyms for third parties')
  t.notOk('name' in third.rows[0])
  t.notOk('phone' in third.rows[0])
  t.equal(third.rows[0].college, 'CS')
  const internal = (await apply(h, { rows: [row], dataset: 'students', profile: 'internal_analysis' })).json()
  t.not(internal.rows[0].id_number, third.rows[0].id_number, 'the same field, masked differently per profile')
  t.equal((await apply(h, { rows: [row], dataset: 'nope' })).statusCode, 404)
})

t.test('policies: defaults, versioned edits by the office, validation, concurrency, visibility', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  const url = '/api/v1/masking/policies/students'
  const initial = await h.as('steward', { method: 'GET', url }, { unit: 'CS' })
  t.equal(initial.statusCode, 200, initial.body)
  t.match(initial.json(), { dataset: 'students', version: 0, profiles: {}, updatedBy: null })
  t.same(initial.json().effective.display.phone, { rule: { strategy: 'mask', piType: 'phone' }, source: 'default' })
  t.equal(initial.json().effective.third_party.phone.source, 'fail_closed', 'no default for phones to third parties: the strictest')
  t.equal(initial.json().effective.third_party.phone.rule.strategy, 'redact')
  t.equal((await h.as('steward', { method: 'GET', url }, { unit: 'MATH' })).statusCode, 404, 'another unit\'s steward does not see it')
  t.equal((await h.as('auditor', { method: 'GET', url })).statusCode, 200)

  const put = (payload: object) => h.as('security_admin', { method: 'PUT', url, payload }, { sub: 'office-admin' })
  const v1 = await put({ profiles: { display: { phone: { strategy: 'mask', keepFirst: 3, keepLast: 2 } }, third_party: { name: { strategy: 'hash', algorithm: 'sm3' } } }, reason: 'first review', expectedVersion: 0 })
  t.equal(v1.statusCode, 200, v1.body)
  t.match(v1.json(), { version: 1, updatedBy: 'office-admin' })
  t.same(v1.json().effective.display.phone, { rule: { strategy: 'mask', keepFirst: 3, keepLast: 2, piType: 'phone' }, source: 'policy' })
  const masked = (await apply(h, { rows: [student], dataset: 'students' })).json()
  t.equal(masked.rows[0].phone, '138******78')
  t.equal(masked.policyVersion, 1)

  const conflict = await put({ profiles: {}, reason: 'stale', expectedVersion: 0 })
  t.equal(conflict.statusCode, 409)
  const bad: [object, string][] = [
    [{ profiles: { display: { shoe: { strategy: 'keep' } } }, reason: 'r' }, 'profiles.display.shoe'],
    [{ profiles: { display: { phone: { strategy: 'shred' } } }, reason: 'r' }, 'profiles.display.phone.strategy'],
    [{ profiles: { third_party: { id_number: { strategy: 'keep' } } }, reason: 'r' }, 'profiles.third_party.id_number.strategy'],
    [{ profiles: { everyone: {} }, reason: 'r' }, 'profiles.everyone']
  ]
  for (const [payload, name] of bad) {
    const res = await put(payload)
    t.equal(res.statusCode, 400, name)
    t.ok(res.json().errors.some((e: { field: string }) => e.field === name), `${res.body} names ${name}`)
  }
  const v2 = await put({ profiles: {}, reason: 'back to defaults' })
  t.equal(v2.json().version, 2)
  const versions = await h.as('security_admin', { method: 'GET', url: `${url}/versions?limit=1` })
  t.equal(versions.statusCode, 200)
  t.match(versions.json().data, [{ version: 2, reason: 'back to defaults', changedBy: 'office-admin' }])
  const next = await h.as('security_admin', { method: 'GET', url: `${url}/versions?limit=1&cursor=${versions.json().nextCursor}` })
  t.match(next.json(), { data: [{ version: 1, reason: 'first review' }], nextCursor: null })
  const events = await eventsOf(h.database.db, 'masking_policy', 'students')
  t.same(events.map((e) => e.action), ['masking-policy.update', 'masking-policy.update'])
  // in the audit log a change of the masking policy is a policy change, as the grading policy's is
  const audited = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events?action=policy_change&limit=10' })
  t.equal(audited.statusCode, 200, audited.body)
  t.match(audited.json().data, [{ action: 'policy_change', operation: 'masking-policy.update' }, { action: 'policy_change', operation: 'masking-policy.update' }])
  t.equal((await put({ profiles: {}, reason: 'x' }).then(() => h.as('security_admin', { method: 'PUT', url: '/api/v1/masking/policies/nope', payload: { profiles: {}, reason: 'x' } }))).statusCode, 404)
})

t.test('detect: PI types with confidence, proposals, children under 14', async (t) => {
  const h = await build(t)
  const rows = [
    { xm: '王小明', sfz: ADULT_ID, sj: '13812345678', mz: '汉族', card: '6222021234567890128', dz: '浙江省杭州市西湖区文三路1号', csrq: '1990-02-02', note: 'hello', xy: '宗教' },
    { xm: '欧阳锋', sfz: CHILD_ID, sj: '15900001111', mz: '回族', card: '4111111111111111', dz: '上海市徐汇区华山路2号', csrq: '2016-05-01', note: 'world', xy: '佛教' }
  ]
  const res = await h.as('steward', { method: 'POST', url: '/api/v1/masking/detect', payload: { rows } })
  t.equal(res.statusCode, 200, res.body)
  const { fields, children } = res.json()
  t.match(fields.xm, { piType: 'name', matches: 2 })
  t.match(fields.sfz, { piType: 'id_number', matches: 2, confidence: 1 })
  t.match(fields.sj, { piType: 'phone', matches: 2 })
  t.match(fields.mz, { piType: 'ethnicity', sensitive: true, proposedRule: { strategy: 'redact' } })
  t.match(fields.card, { piType: 'bank_card', matches: 2 })
  t.match(fields.dz, { piType: 'address' })
  t.match(fields.csrq, { piType: 'birth_date' })
  t.match(fields.note, { piType: null })
  t.same(children, { count: 1, rows: [1] }, 'the row of a child (ID number and birth date) is flagged')
  t.equal((await h.as('consumer', { method: 'POST', url: '/api/v1/masking/detect', payload: { rows: Array.from({ length: 10_001 }, () => ({})) } })).statusCode, 413)
})

t.test('anonymity: k, smallest classes, l-diversity and a generalisation that reaches k', async (t) => {
  const h = await build(t)
  const rows = Array.from({ length: 120 }, (_, i) => ({
    age: 18 + (i % 30), birth: `${1990 + (i % 12)}-0${1 + (i % 9)}-1${i % 10}`, gender: i % 2 ? '男' : '女', diagnosis: ['flu', 'cold', 'none'][i % 3]
  }))
  const res = await h.as('consumer', { method: 'POST', url: '/api/v1/masking/anonymity', payload: { rows, quasiIdentifiers: ['age', 'birth', 'gender'], k: 5, sensitive: 'diagnosis' } })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.match(body, { rows: 120, k: 1, targetK: 5, meetsK: false, lDiversity: { field: 'diagnosis', l: 1 } })
  t.equal(body.smallestClasses.length, 5)
  t.ok(body.suggestion.k >= 5, `suggestion reaches k: ${JSON.stringify(body.suggestion)}`)
  // the suggestion, applied, gives what it promises
  const masked = (await apply(h, { rows, rules: body.suggestion.rules })).json().rows
  const check = await h.as('consumer', { method: 'POST', url: '/api/v1/masking/anonymity', payload: { rows: masked, quasiIdentifiers: ['age', 'birth', 'gender'], k: 5 } })
  t.match(check.json(), { meetsK: true, suggestion: null })
  t.ok(check.json().k >= 5)
  const missing = await h.as('consumer', { method: 'POST', url: '/api/v1/masking/anonymity', payload: { rows, quasiIdentifiers: ['age', 'zip'] } })
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().errors[0].field, 'quasiIdentifiers.1')
})

t.test('strategies are documented; the office detokenizes, recorded', async (t) => {
  const h = await build(t)
  const res = await h.as('consumer', { method: 'GET', url: '/api/v1/masking/strategies' })
  t.equal(res.statusCode, 200)
  const names = res.json().strategies.map((s: { name: string }) => s.name)
  t.same(names.sort(), ['generalize', 'hash', 'keep', 'mask', 'noise', 'null', 'redact', 'replace', 'surrogate', 'tokenize', 'truncate'])
  t.ok(res.json().strategies.find((s: { name: string }) => s.name === 'mask').params.keepFirst)

  const tokens = (await apply(h, { rows: [{ n: '欧阳娜娜' }], rules: { n: { strategy: 'tokenize', algorithm: 'sm4' } }, scope: 's1' }, 'steward', 'CS')).json().rows[0].n
  const back = await h.as('security_admin', { method: 'POST', url: '/api/v1/masking/detokenize', payload: { scope: 'apply:CS:s1', tokens: [tokens, 'tka_bogus'] } })
  t.equal(back.statusCode, 200, back.body)
  t.same(back.json().values, ['欧阳娜娜', null])
  const events = await eventsOf(h.database.db, 'token_scope', 'apply:CS:s1')
  t.match(events, [{ action: 'tokens.detokenize', details: { tokens: 2, resolved: 1 } }])
  t.notMatch(JSON.stringify(events), /欧阳/, 'the event never holds the values')
})
