// JSON pages written by the database: where every field a read gives out is a field in the clear
// or a sealed field served by its kept form, PostgreSQL writes each row's JSON and the gateway
// neither parses nor serialises it. What it writes must be exactly what the gateway's row function
// gives (the NDJSON format, which always takes that path): the same fields in the same order, absent
// fields absent, nulls null, redacted fields left out, text escaped so that it parses back to the
// same string; and rows whose kept forms do not serve (a changed policy, a record stored in the
// clear before the upgrade) are masked by the gateway within the same page.
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { dataPathOf } from '../../src/gateway/data/plugin.js'
import { build, type TestApp } from '../helpers/build.js'
import { field, insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'
import { studentRow } from '../helpers/data.js'
import { insertGrant } from '../helpers/grants.js'

const FIELDS = [...STUDENT_FIELDS, field('address', 'string', { piType: 'address', sensitivity: 3 }), field('note', 'string')]
const STEWARD = { unit: 'CS', sub: 'cs-steward' }
const READER = { unit: 'MATH', sub: 'math-reader' }
const HARD_TEXT = 'a "quoted" \\ back\tslash\nline 😀 \u2028 \u001f 中文 </script>'

/** Ten students: the third lacks its optional PI fields, the fourth has nulls, the fifth hard text. */
const people = () => Array.from({ length: 10 }, (_, i) => {
  const n = i + 1
  const row: Record<string, unknown> = { ...studentRow(n), address: `北京市海淀区学院路${n}号`, note: `note ${n}` }
  if (n === 3) { delete row.phone; delete row.email; delete row.address; delete row.note }
  if (n === 4) { row.phone = null; row.note = null }
  if (n === 5) row.note = HARD_TEXT
  return row
})

async function read (t: Test, h: TestApp, grant: string, query = '') {
  const url = `/api/v1/data/people/records?grant=${grant}&limit=100${query}`
  const json = await h.as('consumer', { method: 'GET', url }, READER)
  t.equal(json.statusCode, 200, 'the JSON page')
  const ndjson = await h.as('consumer', { method: 'GET', url: `${url}&format=ndjson` }, READER)
  t.equal(ndjson.statusCode, 200, 'the NDJSON page')
  const viaDatabase = json.json().data as Record<string, unknown>[]
  const viaGateway = ndjson.body.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
  return { viaDatabase, viaGateway }
}

/** Whether the plan of a grant has the database write its rows (and with which fields). */
async function writtenByDatabase (h: TestApp, grant: string, fields?: string) {
  const plan = await dataPathOf(h.database.db)!.reader.plan({ sub: READER.sub, unit: READER.unit, roles: ['consumer'] }, 'people', 'api', { grant, fields })
  return plan.json !== null
}

/** The same rows, the same fields in the same order, the same values. */
function sameRows (t: Test, got: Record<string, unknown>[], want: Record<string, unknown>[], what: string) {
  t.strictSame(got, want, what)
  t.same(got.map((r) => Object.keys(r)), want.map((r) => Object.keys(r)), `${what}: fields in the same order`)
}

t.test('a page the database writes is the page the row function gives, field by field', async (t) => {
  const h = await build(t)
  await insertDataset(h, { code: 'people', fields: FIELDS })
  const put = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/people/records', payload: people() }, STEWARD)
  t.equal(put.json().accepted, 10, put.body)
  const all = FIELDS.map((f) => f.name)
  const display = await insertGrant(h, { request: { dataset_code: 'people', fields: all }, grant: { fields: all } })
  const third = await insertGrant(h, { request: { dataset_code: 'people', fields: all, third_party: true, third_party_name: 'Survey Co.' }, grant: { fields: all, third_party: true } })
  const unmasked = await insertGrant(h, { request: { dataset_code: 'people', fields: all, unmasked_reason: 'registry reconciliation' }, grant: { fields: all, masked: false } })

  t.ok(await writtenByDatabase(h, display.grant.id), 'display: every sealed field has its kept form, the others are in the clear')
  t.notOk(await writtenByDatabase(h, third.grant.id), 'third party: per-grant hashes need the opened values')
  t.notOk(await writtenByDatabase(h, unmasked.grant.id), 'unmasked: the values are opened')
  t.ok(await writtenByDatabase(h, unmasked.grant.id, 'student_id,college,year'), 'unmasked, fields in the clear only')

  const page = await read(t, h, display.grant.id)
  t.equal(page.viaDatabase.length, 10)
  sameRows(t, page.viaDatabase, page.viaGateway, 'display, every field')
  t.notOk('phone' in page.viaDatabase[2]!, 'a field the record does not have is absent')
  t.equal(page.viaDatabase[3]!.note, null, 'a null stays null')
  t.equal(page.viaDatabase[4]!.note, HARD_TEXT, 'text the database escapes parses back to the same string')
  t.equal(page.viaDatabase[0]!.phone, '138****0001', 'the kept form')

  sameRows(t, (await read(t, h, display.grant.id, '&fields=note,phone,college')).viaDatabase, (await read(t, h, display.grant.id, '&fields=note,phone,college')).viaGateway, 'chosen fields')
  const filtered = await read(t, h, display.grant.id, `&where[address]=${encodeURIComponent('北京市海淀区学院路7号')}`)
  t.same(filtered.viaDatabase.map((r) => r.student_id), ['2026****07'], 'filters as before')
  sameRows(t, filtered.viaDatabase, filtered.viaGateway, 'filtered')
  const first = await h.as('consumer', { method: 'GET', url: `/api/v1/data/people/records?grant=${display.grant.id}&limit=4` }, READER)
  const next = await read(t, h, display.grant.id, `&cursor=${first.json().nextCursor as string}`)
  t.equal(next.viaDatabase.length, 6, 'the cursor of a page the database wrote')
  sameRows(t, next.viaDatabase, next.viaGateway, 'the next page')
  sameRows(t, (await read(t, h, third.grant.id)).viaDatabase, (await read(t, h, third.grant.id)).viaGateway, 'third party (the gateway\'s path both ways)')
  sameRows(t, (await read(t, h, unmasked.grant.id, '&fields=student_id,college,year')).viaDatabase, (await read(t, h, unmasked.grant.id, '&fields=student_id,college,year')).viaGateway, 'unmasked fields in the clear')

  // a policy that redacts a field: left out by the database as by the row function
  const redacting = { display: { email: { strategy: 'redact' } } }
  const res = await h.as('security_admin', { method: 'PUT', url: '/api/v1/masking/policies/people', payload: { profiles: redacting, reason: 'no e-mail on screens' } }, { unit: 'OFFICE', sub: 'office' })
  t.equal(res.statusCode, 200, res.body)
  await dataPathOf(h.app.db)!.cache.refresh()
  const redacted = await read(t, h, display.grant.id)
  t.ok(redacted.viaDatabase.every((r) => !('email' in r)), 'the redacted field is left out')
  sameRows(t, redacted.viaDatabase, redacted.viaGateway, 'a redacted field; the other kept forms are stale until the sweep, so masked by the gateway')

  // a page of records whose forms serve, one whose forms were made under other rules, one stored in the clear
  const masking = { display: { phone: { strategy: 'mask', keepFirst: 0, keepLast: 2 } } }
  t.equal((await h.as('security_admin', { method: 'PUT', url: '/api/v1/masking/policies/people', payload: { profiles: masking, reason: 'less of the mobile' } }, { unit: 'OFFICE', sub: 'office' })).statusCode, 200)
  await dataPathOf(h.app.db)!.cache.refresh()
  t.equal((await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/people/records', payload: people().slice(0, 6) }, STEWARD)).statusCode, 200, 'six stored again under the new rules')
  const clear = { ...studentRow(8), address: '北京市海淀区学院路8号', note: 'note 8' }
  await sql`update records set data = ${JSON.stringify(clear)}::jsonb, sealed = null, blind = null, masked = null
            where dataset_code = 'people' and record_key = '2026000008'`.execute(h.database.db)
  t.ok(await writtenByDatabase(h, display.grant.id), 'the new rules\' forms serve')
  const mixed = await read(t, h, display.grant.id)
  sameRows(t, mixed.viaDatabase, mixed.viaGateway, 'fresh, stale and clear records in one page')
  t.equal(mixed.viaDatabase[0]!.phone, '*********01', 'a fresh record: the new rules\' form')
  t.equal(mixed.viaDatabase[6]!.phone, '*********07', 'a stale record: masked by the gateway under the new rules')
  t.equal(mixed.viaDatabase[7]!.phone, '*********08', 'a record in the clear: masked by the gateway')
  t.equal(mixed.viaDatabase[7]!.name, mixed.viaGateway[7]!.name)
})
