// Every piece of personal information sealed at rest (003 3(1)): names, ID numbers, mobiles and
// addresses are sealed at ingest like the sensitive types, with blind indexes; masked reads take the
// masked forms kept beside them without opening them, until the masking policy changes; records of
// the release before are sealed by the background sweep; neither the table nor a backup holds a
// clear value.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { ENCRYPTED_MARK } from '../../src/catalog/encryption/codec.js'
import { masterKeyFile } from '../../src/platform/masters.js'
import { countClear, sweepEncryption } from '../../src/catalog/encryption/sweep.js'
import type { Database } from '../../src/db/database.js'
import { createMigrator } from '../../src/db/migrator.js'
import { loadMaskingKey } from '../../src/masking/keys.js'
import { compilePolicy } from '../../src/masking/policy.js'
import { loadSigningKey } from '../../src/platform/auth/keys.js'
import { createTokenIssuer } from '../../src/platform/auth/token.js'
import { createBackup } from '../../src/cli/backup/dump.js'
import { openBackup } from '../../src/cli/backup/format.js'
import { masterKeyOf } from '../../src/platform/master-key.js'
import { build, testConfig, type TestApp } from '../helpers/build.js'
import { field, insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'
import { studentRow } from '../helpers/data.js'
import { insertGrant } from '../helpers/grants.js'
import { databaseBefore, legacyDataset } from '../helpers/older-database.js'

const FIELDS = [...STUDENT_FIELDS, field('address', 'string', { piType: 'address', sensitivity: 3 })]
const person = (n: number): Record<string, unknown> & { student_id: string } => ({ ...studentRow(n), student_id: String(2026000000 + n), address: `北京市海淀区学院路${n}号` })
const CLEAR = (n: number) => [String(person(n).name), String(person(n).phone), String(person(n).address), '11010519491231002X']
const STEWARD = { unit: 'CS', sub: 'cs-steward' }
const COUNT = 8

const records = (h: TestApp) => h.database.db.selectFrom('records').selectAll().where('dataset_code', '=', 'people').orderBy('record_key').execute()
/** what a pg_dump of the table shows: every column of every row as PostgreSQL writes it */
const dumpOf = async (db: Kysely<Database>) => (await sql<{ row: string }>`select r::text as row from records r where dataset_code = 'people'`.execute(db)).rows.map((r) => r.row).join('\n')
const noneOf = (text: string, values: readonly string[]) => values.filter((v) => text.includes(v))

t.test('names, ID numbers, mobiles and addresses are sealed at ingest; masked reads need not open them; the policy changes what is kept', async (t) => {
  const h = await build(t)
  await insertDataset(h, { code: 'people', fields: FIELDS })
  const put = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/people/records', payload: Array.from({ length: COUNT }, (_, i) => person(i + 1)) }, STEWARD)
  t.equal(put.json().accepted, COUNT, put.body)

  // stored: the PI fields sealed with blind indexes, their grant-free masked forms beside them
  const rows = await records(h)
  const first = rows[0]!
  for (const name of ['name', 'id_number', 'phone', 'email', 'address']) t.equal(first.data[name], ENCRYPTED_MARK, `${name} sealed`)
  t.equal(first.data.college, 'MATH', 'a field without a PI type stays in the clear')
  t.equal(first.data.student_id, '2026000001', 'the key stays in the clear')
  t.same(Object.keys(first.blind!).sort(), ['address', 'email', 'id_number', 'name', 'phone'])
  t.match(first.masked, { display: { phone: '138****0001', id_number: '110105********002X', address: '北京市海淀区' }, third_party: { address: '北京市' } })
  const dump = await dumpOf(h.database.db)
  t.same(Array.from({ length: COUNT }, (_, i) => noneOf(dump, CLEAR(i + 1))).flat(), [], 'no clear value of a PI field in the table')
  const state = (await h.as('auditor', { method: 'GET', url: '/api/v1/datasets/people/encryption' }, { unit: 'OFFICE', sub: 'a' })).json()
  t.match(state, { fields: [{ name: 'name', reason: 'pi' }, { name: 'id_number', reason: 'pi' }, { name: 'phone', reason: 'pi' }, { name: 'email', reason: 'pi' }, { name: 'address', reason: 'pi' }], clearRecords: 0 })

  // reads: each grant gets exactly what the masking engine makes of the stored values
  const all = FIELDS.map((f) => f.name)
  const display = await insertGrant(h, { request: { dataset_code: 'people', fields: all }, grant: { fields: all } })
  const third = await insertGrant(h, { request: { dataset_code: 'people', fields: all, third_party: true, third_party_name: 'Survey Co.' }, grant: { fields: all, third_party: true } })
  const clear = await insertGrant(h, { request: { dataset_code: 'people', fields: all, unmasked_reason: 'registry reconciliation' }, grant: { fields: all, masked: false } })
  const read = async (grant: string, q = '') => {
    const res = await h.as('consumer', { method: 'GET', url: `/api/v1/data/people/records?grant=${grant}&limit=100${q}` }, { unit: 'MATH', sub: 'math-reader' })
    t.equal(res.statusCode, 200, res.body)
    return res.json().data as Record<string, unknown>[]
  }
  const maskingKey = loadMaskingKey(h.config, { generate: false })
  const engine = (profile: 'display' | 'third_party', scope: string, profiles = {}) =>
    compilePolicy(FIELDS, profiles, profile, { key: maskingKey, scope, today: new Date() })
  const expected = (mask: (row: Record<string, unknown>) => Record<string, unknown>) => Array.from({ length: COUNT }, (_, i) => mask(person(i + 1)))
  t.same(await read(display.grant.id), expected(engine('display', display.grant.id)), 'display: the kept forms are the engine\'s')
  t.same(await read(third.grant.id), expected(engine('third_party', third.grant.id)), 'third party: kept generalisations, per-grant hashes of the opened values')
  t.same(await read(clear.grant.id), expected((r) => r), 'unmasked: the opened values')

  // filters find sealed values through their blind indexes
  const keys = (data: Record<string, unknown>[]) => data.map((r) => r.student_id)
  t.same(keys(await read(clear.grant.id, '&where[phone]=13800000005')), ['2026000005'])
  t.same(keys(await read(clear.grant.id, `&where[name][in]=${encodeURIComponent(`${String(person(2).name)},${String(person(7).name)}`)}`)), ['2026000002', '2026000007'])
  t.same(keys(await read(display.grant.id, `&where[address]=${encodeURIComponent(String(person(3).address))}`)), ['2026****03'], 'on a masked grant too')
  t.same(keys(await read(clear.grant.id, '&where[year][gte]=2023&where[college]=CS')), ['2026000003'], 'fields without a PI type keep ranges')
  const ranged = await h.as('consumer', { method: 'GET', url: `/api/v1/data/people/records?grant=${clear.grant.id}&where[address][gt]=a` }, { unit: 'MATH', sub: 'm' })
  t.equal(ranged.statusCode, 400)
  t.match(ranged.json(), { errors: [{ field: 'where.address.gt' }], detail: /stored encrypted/ })

  // a masked read does not open the values: a blob moved from another record is never opened by it
  await sql`update records set sealed = ${rows[2]!.sealed} where dataset_code = 'people' and record_key = '2026000001'`.execute(h.database.db)
  t.same((await read(display.grant.id))[0], expected(engine('display', display.grant.id))[0], 'display read of the record: its kept forms, nothing opened')
  t.same(Object.keys((await read(clear.grant.id))[0]!).sort(), all.filter((f) => !['name', 'id_number', 'phone', 'email', 'address'].includes(f)).sort(), 'opened: the moved values are withheld')
  await sql`update records set sealed = ${first.sealed} where dataset_code = 'people' and record_key = '2026000001'`.execute(h.database.db)

  // a new policy: the kept forms of the old one are not used; the values are opened until the sweep has made the forms again
  const policy = { display: { name: { strategy: 'replace', value: '某' }, phone: { strategy: 'mask', keepFirst: 0, keepLast: 2 } } }
  const changed = await h.as('security_admin', { method: 'PUT', url: '/api/v1/masking/policies/people', payload: { profiles: policy, reason: 'screens show less' } }, { unit: 'OFFICE', sub: 'office' })
  t.equal(changed.statusCode, 200, changed.body)
  const newDisplay = expected(engine('display', display.grant.id, policy))
  t.equal(newDisplay[0]!.name, '某')
  t.same(await read(display.grant.id), newDisplay, 'the new policy at once, not the kept forms of the old')
  const before = (await records(h))[1]!.masked as Record<string, Record<string, unknown>>
  t.equal(before.display!.name, expected(engine('display', display.grant.id))[1]!.name, 'the stored forms are still the old policy\'s')
  t.match(await sweepEncryption(h.database.db, h.app.encryption, (_d, err) => { t.error(err) }), [{ dataset: 'people', records: COUNT }], 'the sweep makes them again')
  const after = (await records(h))[1]!.masked as Record<string, Record<string, unknown>>
  t.not(after['#'], before['#'], 'under the new rules\' digest')
  t.same([after.display!.name, after.display!.phone], [newDisplay[1]!.name, newDisplay[1]!.phone])
  t.same(await read(display.grant.id), newDisplay, 'and reads give the same')
  t.same(await sweepEncryption(h.database.db, h.app.encryption, (_d, err) => { t.error(err) }), [], 'a second sweep finds nothing to do')

  // a backup holds no clear value either: not in its sealed file, not in the dump inside it
  const master = masterKeyOf(Buffer.from(readFileSync(masterKeyFile(h.config.dataDir), 'utf8').trim(), 'hex'), 'the data dir key')
  const dir = mkdtempSync(join(tmpdir(), 'datagate-backup-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const out = join(dir, 'all.dgb')
  await createBackup({ db: h.database.db, database: h.database.kind, out, masterKey: master, algorithm: 'aes-256-gcm' })
  const opened = await openBackup(out, master)
  const frames: Buffer[] = []
  const reader = opened.frames()
  for (let next = await reader.next(); !next.done; next = await reader.next()) frames.push(next.value)
  await opened.close()
  const inside = gunzipSync(Buffer.concat(frames)).toString('utf8')
  t.ok(inside.includes(ENCRYPTED_MARK) && inside.includes('2026000001'), 'the records are in the backup')
  const raw = readFileSync(out).toString('latin1') + readFileSync(out).toString('utf8')
  t.same(Array.from({ length: COUNT }, (_, i) => [...noneOf(inside, CLEAR(i + 1)), ...noneOf(raw, CLEAR(i + 1))]).flat(), [], 'no clear value of a PI field in the backup')
})

t.test('records stored in the clear by the release before are sealed by the background sweep after the upgrade', async (t) => {
  const { db, handle } = await databaseBefore(t, '0021_seal_all_personal_information')
  await db.insertInto('units').values({ code: 'CS', name: 'CS', officer_name: 'o', officer_contact: 'o@example.edu.cn' }).execute()
  await db.insertInto('datasets').values({
    ...legacyDataset('people'),
    primary_key: ['student_id'],
    person_key: 'student_id',
    fields: JSON.stringify(FIELDS),
    grading_status: 'confirmed'
  }).execute()
  const batch = '00000000-0000-4000-8000-000000000001'
  await db.insertInto('ingest_batches').values({ id: batch, dataset_code: 'people', unit: 'CS', sub: 'old', client: null, format: 'json', received: COUNT, accepted: COUNT, rejected: 0, errors: '{}' }).execute()
  for (let n = 1; n <= COUNT; n++) {
    const data = person(n)
    await db.insertInto('records').values({ dataset_code: 'people', record_key: data.student_id, data: JSON.stringify(data), person_key: data.student_id, batch_id: batch, source_unit: 'CS', source_sub: 'old' }).execute()
  }
  t.same(noneOf(await dumpOf(handle.db), CLEAR(1)), CLEAR(1), 'the release before stored them in the clear')
  t.error((await createMigrator(handle.db).migrateToLatest()).error, 'upgraded')

  const dataDir = mkdtempSync(join(tmpdir(), 'datagate-upgrade-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  const config = testConfig(dataDir)
  const key = loadSigningKey(config, { generate: true })!
  const app = await buildApp({ config, database: handle, mode: 'all', keys: { signing: key, verification: key }, logger: false, closeDatabase: false })
  t.teardown(() => app.close())
  await app.ready()
  // the sweep runs once the process is ready, in the background
  let swept = null
  for (let i = 0; i < 400 && !swept; i++) {
    swept = await handle.db.selectFrom('encryption_sweeps').selectAll().where('dataset_code', '=', 'people').executeTakeFirst()
    if (!swept) await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.match(swept, { fields: ['name', 'id_number', 'phone', 'email', 'address'], records: String(COUNT) }, 'every record rewritten')
  const dump = await dumpOf(handle.db)
  t.same(Array.from({ length: COUNT }, (_, i) => noneOf(dump, CLEAR(i + 1))).flat(), [], 'no clear value left in the table')
  const stored = await handle.db.selectFrom('records').selectAll().where('record_key', '=', '2026000005').executeTakeFirstOrThrow()
  t.equal(stored.data.phone, ENCRYPTED_MARK)
  t.ok(stored.blind?.phone, 'with its blind index')
  t.match(stored.masked, { display: { phone: '138****0005' } }, 'and its kept masked forms')

  const token = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: 600 }).sign({ sub: 's', unit: 'CS', roles: ['steward'] }, 600)
  const state = await app.inject({ method: 'GET', url: '/api/v1/datasets/people/encryption', headers: { authorization: `Bearer ${token}` } })
  t.match(state.json(), { clearRecords: 0 })
})

t.test('a sweep rests between batches when asked, and stops after its batch when its signal aborts (the app closing)', async (t) => {
  const h = await build(t, { env: { ENCRYPTION_SWEEP_SECONDS: '0' } }) // this test runs the sweep itself
  await insertDataset(h, { code: 'people', fields: FIELDS })
  const db = h.database.db
  const batch = '00000000-0000-4000-8000-000000000002'
  await db.insertInto('ingest_batches').values({ id: batch, dataset_code: 'people', unit: 'CS', sub: 'old', client: null, format: 'json', received: 1500, accepted: 1500, rejected: 0, errors: '{}' }).execute()
  await sql`
    insert into records (dataset_code, record_key, data, person_key, batch_id, source_unit, source_sub)
    select 'people', k, jsonb_build_object('student_id', k, 'name', 'n' || i, 'phone', '138' || lpad(i::text, 8, '0')), k, ${batch}::uuid, 'CS', 'old'
    from (select i, (2026000000 + i)::text as k from generate_series(1, 1500) as i) s`.execute(db)
  const dataset = await db.selectFrom('datasets').selectAll().where('code', '=', 'people').executeTakeFirstOrThrow()

  const before = new AbortController()
  before.abort()
  t.same(await sweepEncryption(db, h.app.encryption, (_d, err) => { t.error(err) }, { signal: before.signal }), [], 'aborted before it began: nothing swept')
  t.equal(await countClear(db, dataset), 1500, 'nothing sealed')

  // a rest far longer than any batch: the sweep holds after its first thousand until it is stopped
  const closing = new AbortController()
  const sealing = sweepEncryption(db, h.app.encryption, (_d, err) => { t.error(err) }, { signal: closing.signal, rest: 1e6 })
  for (let clear = 1500; clear !== 500;) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    clear = await countClear(db, dataset)
  }
  closing.abort()
  t.same(await sealing, [], 'the abort ends its rest: it stops there, with its dataset not recorded as swept')
  t.equal(await countClear(db, dataset), 500, 'the first batch stays sealed, the rest stays for the next run')
  t.notOk(await db.selectFrom('encryption_sweeps').selectAll().where('dataset_code', '=', 'people').executeTakeFirst(), 'no sweep state for the dataset')
  t.match(await sweepEncryption(db, h.app.encryption, (_d, err) => { t.error(err) }), [{ dataset: 'people', records: 500 }], 'the next run seals the rest')
  t.equal(await countClear(db, dataset), 0)
})
