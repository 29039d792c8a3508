// Encryption at rest of records: sensitive fields sealed under a data key per dataset, wrapped by
// the master key; blind indexes for equality filters; the office's marks on important datasets;
// key rotation that can be interrupted and rerun; crypto-shredding; the wrong master key refused.
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { ENCRYPTED_MARK } from '../../src/catalog/encryption/codec.js'
import { createKeyring, masterFingerprint } from '../../src/catalog/encryption/keyring.js'
import { loadMasterKeys } from '../../src/platform/masters.js'
import { encryptionOf } from '../../src/catalog/encryption/plugin.js'
import { loadConfig } from '../../src/config.js'
import { open } from '../../src/platform/aead.js'
import type { Grade } from '../../src/platform/vocabulary.js'
import { build, type TestApp } from '../helpers/build.js'
import { field, insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'
import { insertGrant } from '../helpers/grants.js'
import { addPurpose, recordConsents } from '../helpers/purposes.js'

const FIELDS = [
  ...STUDENT_FIELDS.slice(0, 2), // student_id (key), name
  field('college', 'string'),
  field('dorm_room', 'string'),
  field('diagnosis', 'string', { piType: 'health', sensitivity: 4 }),
  field('bank_card', 'string', { piType: 'bank_card', sensitivity: 4 })
]
const row = (n: number) => ({
  student_id: String(2026000000 + n),
  name: `学生${n}`,
  college: n % 2 ? 'CS' : 'LAW',
  dorm_room: `B-${100 + n}`,
  diagnosis: n % 3 === 0 ? 'asthma' : 'none',
  bank_card: `62220200000000${String(n).padStart(5, '0')}`
})
const STEWARD = { unit: 'CS', sub: 'cs-steward' }
const OFFICE = { unit: 'OFFICE', sub: 'office-wang' }

async function setup (h: TestApp, count = 12, grade: Grade = 'ordinary') {
  await insertDataset(h, { code: 'health', fields: FIELDS, grade, national_grade: grade === 'important' ? 'important' : 'general', sensitive_pi: true })
  const res = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/health/records', payload: Array.from({ length: count }, (_, i) => row(i + 1)) }, STEWARD)
  if (res.statusCode !== 200 || res.json().accepted !== count) throw new Error(`ingest: ${res.statusCode} ${res.body}`)
}
/**
 * MATH's unmasked grant on `health` for the clinic's follow-up: sensitive data, so the grant rests on
 * consent, and every one of the `count` students consented to that purpose (what is read is then
 * what is stored).
 */
async function clinicGrant (h: TestApp, fields: string[], count: number) {
  await addPurpose(h, 'clinic_follow_up')
  await recordConsents(h, 'health', 'clinic_follow_up', Array.from({ length: count }, (_, i) => row(i + 1).student_id))
  await insertGrant(h, {
    request: { dataset_code: 'health', fields, unmasked_reason: 'campus clinic follow-up', consent_based: true, purpose_code: 'clinic_follow_up' },
    grant: { fields, masked: false, consent_based: true, purpose_code: 'clinic_follow_up' }
  })
}
const stored = async (h: TestApp) => await h.database.db.selectFrom('records').select(['record_key', 'data', 'sealed', 'blind'])
  .where('dataset_code', '=', 'health').orderBy('record_key').execute()

t.test('fields with a PI type are stored sealed, with blind indexes; the database alone reveals nothing', async (t) => {
  const h = await build(t)
  await setup(h)
  const rows = await stored(h)
  t.equal(rows.length, 12)
  const first = rows[0]!
  t.equal(first.data.diagnosis, ENCRYPTED_MARK, 'health data sealed away')
  t.equal(first.data.bank_card, ENCRYPTED_MARK, 'financial accounts sealed away')
  t.ok(first.sealed && first.sealed.length > 40, 'into the record\'s sealed blob')
  t.equal(first.data.name, ENCRYPTED_MARK, 'a name is personal information: sealed too (003 3(1))')
  t.equal(first.data.college, 'CS', 'other fields in the clear')
  t.equal(first.data.student_id, '2026000001', 'the key stays in the clear')
  const dump = JSON.stringify(rows) + rows.map((r) => r.sealed!.toString('latin1')).join('')
  t.notOk(dump.includes('asthma') || dump.includes('6222020000000000') || dump.includes('学生1'), 'no personal value anywhere in the table')
  t.same(Object.keys(first.blind ?? {}).sort(), ['bank_card', 'diagnosis', 'name'])

  const state = await h.as('security_admin', { method: 'GET', url: '/api/v1/datasets/health/encryption' }, OFFICE)
  t.equal(state.statusCode, 200)
  t.match(state.json(), { dataset: 'health', fields: [{ name: 'name', reason: 'pi' }, { name: 'diagnosis', reason: 'sensitive_pi' }, { name: 'bank_card', reason: 'sensitive_pi' }], key: { suite: 'aes-256-gcm', ageDays: 0, destroyedAt: null }, clearRecords: 0 })
  const key = await h.database.db.selectFrom('data_keys').selectAll().where('dataset_code', '=', 'health').executeTakeFirstOrThrow()
  t.equal(key.wrapped!.length, 1 + 12 + 32 + 16, 'the data key is stored wrapped (sealed 32 bytes)')
  t.equal(key.master_fingerprint, encryptionOf(h.app.db)!.keyring.current.fingerprint)
})

t.test('granted reads decrypt; equality filters find sealed values through blind indexes', async (t) => {
  const h = await build(t)
  await setup(h)
  await clinicGrant(h, ['student_id', 'diagnosis', 'bank_card'], 12)
  const read = async (q: string) => await h.as('consumer', { method: 'GET', url: `/api/v1/data/health/records${q}` }, { unit: 'MATH', sub: 'math-doctor' })
  const all = await read('?limit=100')
  t.equal(all.statusCode, 200, all.body)
  t.same(all.json().data[2], { student_id: '2026000003', diagnosis: 'asthma', bank_card: '6222020000000000003' }, 'the stored values, decrypted')
  const asthma = await read('?where[diagnosis]=asthma')
  t.same(asthma.json().data.map((r: { student_id: string }) => r.student_id), ['2026000003', '2026000006', '2026000009', '2026000012'])
  const listed = await read('?where[bank_card][in]=6222020000000000001,6222020000000000002')
  t.equal(listed.json().data.length, 2)
  const ranged = await read('?where[diagnosis][gt]=a')
  t.equal(ranged.statusCode, 400)
  t.match(ranged.json(), { errors: [{ field: 'where.diagnosis.gt' }], detail: /stored encrypted/ })
  const schema = (await h.as('consumer', { method: 'GET', url: '/api/v1/data/health/schema' }, { unit: 'MATH', sub: 'math-doctor' })).json()
  t.same(schema.fields.find((f: { name: string }) => f.name === 'diagnosis').filters, ['eq', 'in'])

  // a sealed blob moved to another record does not open there: withheld, never someone else's values
  const rows = await stored(h)
  await sql`update records set sealed = ${rows[2]!.sealed} where dataset_code = 'health' and record_key = '2026000001'`.execute(h.database.db)
  const moved = (await read('?limit=2')).json().data
  t.same(moved[0], { student_id: '2026000001' }, 'the moved values are withheld')
  t.same(moved[1], { student_id: '2026000002', diagnosis: 'none', bank_card: '6222020000000000002' }, 'the other records read as before')
})

t.test('the office marks fields of important datasets; stored records are sealed in the background', async (t) => {
  const h = await build(t)
  await setup(h, 2500, 'important')
  t.equal((await stored(h))[0]!.data.dorm_room, 'B-101', 'not marked yet')
  const mark = (body: object, role: Parameters<TestApp['as']>[0] = 'security_admin', who = OFFICE) =>
    h.as(role, { method: 'PUT', url: '/api/v1/datasets/health/encryption', payload: body }, who)
  for (const role of ['steward', 'consumer', 'auditor', 'system_admin'] as const) {
    t.equal((await mark({ fields: ['dorm_room'], reason: 'r' }, role, STEWARD)).statusCode, 403, `${role} may not mark`)
  }
  t.match((await mark({ fields: ['nope'], reason: 'r' })).json(), { errors: [{ field: 'fields.0' }] })
  t.match((await mark({ fields: ['dorm_room', 'student_id'], reason: 'r' })).json(), { errors: [{ field: 'fields.1' }], detail: /key field/ })
  t.match((await mark({ fields: ['dorm_room'] })).json(), { errors: [{ field: 'reason' }] })
  t.equal((await h.database.db.selectFrom('datasets').select('encrypted_fields').where('code', '=', 'health').executeTakeFirstOrThrow()).encrypted_fields.length, 0, 'refusals changed nothing')

  const marked = await mark({ fields: ['dorm_room'], reason: 'dormitory allocation is important data' })
  t.equal(marked.statusCode, 200, marked.body)
  t.match(marked.json().fields, [{ name: 'name', reason: 'pi' }, { name: 'dorm_room', reason: 'marked' }, { name: 'diagnosis' }, { name: 'bank_card' }])
  let state
  for (let i = 0; i < 200; i++) {
    state = (await h.as('auditor', { method: 'GET', url: '/api/v1/datasets/health/encryption' }, { unit: 'OFFICE', sub: 'auditor-zhao' })).json()
    if (state.clearRecords === 0) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(state.clearRecords, 0, 'every stored record sealed')
  const rows = await stored(h)
  t.ok(rows.every((r) => r.data.dorm_room === ENCRYPTED_MARK), 'dorm rooms sealed')
  t.ok(rows.every((r) => r.blind?.dorm_room && r.blind.diagnosis), 'blind indexes merged')
  const newer = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/health/records', payload: [row(9999)] }, STEWARD)
  t.equal(newer.statusCode, 200)
  t.equal((await stored(h)).find((r) => r.record_key === '2026009999')!.data.dorm_room, ENCRYPTED_MARK, 'new records sealed at ingest')
  const events = await h.database.db.selectFrom('domain_events').selectAll().where('action', '=', 'dataset.encryption.mark').execute()
  t.match(events, [{ actor_sub: 'office-wang', details: { added: ['dorm_room'] } }], 'the mark is a recorded event')

  const h2 = await build(t)
  await setup(h2, 1)
  const ordinary = await h2.as('security_admin', { method: 'PUT', url: '/api/v1/datasets/health/encryption', payload: { fields: ['dorm_room'], reason: 'r' } }, OFFICE)
  t.equal(ordinary.statusCode, 400, 'only important datasets are marked')
  t.equal((await h2.as('steward', { method: 'GET', url: '/api/v1/datasets/health/encryption' }, { unit: 'LAW', sub: 'law-steward' })).statusCode, 404, 'another unit\'s steward sees nothing')
  t.equal((await h2.as('steward', { method: 'GET', url: '/api/v1/datasets/health/encryption' }, STEWARD)).statusCode, 200, 'the producer\'s steward sees it')
})

t.test('SM4 (with HMAC-SM3) is the national-algorithm choice', async (t) => {
  const h = await build(t, { env: { DATAGATE_CIPHER: 'sm4' } })
  await setup(h, 3)
  t.equal((await stored(h))[0]!.sealed![0], 2, 'sealed with the SM4 suite')
  const key = await h.database.db.selectFrom('data_keys').selectAll().executeTakeFirstOrThrow()
  t.equal(key.suite, 'sm4')
  await clinicGrant(h, ['student_id', 'diagnosis'], 3)
  const read = await h.as('consumer', { method: 'GET', url: '/api/v1/data/health/records?where[diagnosis]=asthma' }, { unit: 'MATH', sub: 'm' })
  t.same(read.json().data, [{ student_id: '2026000003', diagnosis: 'asthma' }])
})

t.test('rotation re-wraps data keys under a new master key; an interrupted rotation reruns to the end', async (t) => {
  const h = await build(t)
  await setup(h, 3)
  await insertDataset(h, { code: 'health2', fields: FIELDS, subject: 'another subject' })
  await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/health2/records', payload: [row(1)] }, STEWARD)
  const db = h.database.db
  const [old] = loadMasterKeys(h.config, { generate: false })
  const fresh = randomBytes(32)
  const next = { key: fresh, fingerprint: masterFingerprint(fresh) }

  const alone = createKeyring(db, { masters: [next], suite: 'aes-256-gcm' })
  await t.rejects(alone.verify(), /wrapped by master key .* but the configured key is/, 'the new key alone cannot open the old wrapping')
  t.equal((await db.selectFrom('master_keys').selectAll().execute()).length, 1, 'and nothing was written')

  const rotating = createKeyring(db, { masters: [next, old!], suite: 'aes-256-gcm' })
  t.same(await rotating.rotate({ limit: 1 }), { rewrapped: 1, remaining: 1 }, 'interrupted after one key')
  t.same((await rotating.status()).map((k) => k.masterFingerprint).sort(), [next.fingerprint, old!.fingerprint].sort(), 'each key under one master or the other')
  t.ok(await rotating.dataKey('health'), 'both keys still open with both masters')
  t.ok(await rotating.dataKey('health2'))
  t.same(await rotating.rotate(), { rewrapped: 1, remaining: 0 }, 'the rerun finishes')
  t.same(await rotating.rotate(), { rewrapped: 0, remaining: 0 }, 'and a third run has nothing to do')

  const after = createKeyring(db, { masters: [next], suite: 'aes-256-gcm' })
  await after.verify()
  const stored0 = (await stored(h))[0]!
  const dataKey = (await after.dataKey('health'))!
  const plain = open(dataKey, stored0.sealed!, Buffer.from('health\u00002026000001'))
  t.same(JSON.parse(plain.toString()), { name: '学生1', diagnosis: 'none', bank_card: '6222020000000000001' }, 'the data is readable under the new master key alone')
  t.ok((await db.selectFrom('master_keys').selectAll().where('fingerprint', '=', old!.fingerprint).executeTakeFirstOrThrow()).retired_at, 'the old master is retired')
})

t.test('a process with the wrong master key does not start, and writes nothing', async (t) => {
  const h = await build(t)
  await setup(h, 1)
  const config = loadConfig({ ...process.env, DATAGATE_DATA_DIR: h.config.DATAGATE_DATA_DIR, LOG_LEVEL: 'silent', DATAGATE_MASTER_KEY: randomBytes(32).toString('hex'), ...(h.config.DATABASE_URL ? { DATABASE_URL: h.config.DATABASE_URL } : {}) })
  const before = await h.database.db.selectFrom('master_keys').selectAll().execute()
  await t.rejects(buildApp({ config, database: h.database, mode: 'all', keys: { signing: h.key, verification: h.key }, logger: false, closeDatabase: false }),
    /data keys are wrapped by master key [0-9a-f]{16}, but the configured key is [0-9a-f]{16}/)
  t.same(await h.database.db.selectFrom('master_keys').selectAll().execute(), before, 'no master key registered')
  t.throws(() => loadMasterKeys({ ...config, DATAGATE_MASTER_KEY: 'abc' }, { generate: false }), /64 hex characters/)
})

t.test('crypto-shredding erases the wrapped data key: the sealed values can no longer be opened', async (t) => {
  const h = await build(t)
  await setup(h, 2)
  const enc = encryptionOf(h.app.db)!
  t.ok(await enc.keyring.destroy('health', 'office-wang'))
  t.notOk(await enc.keyring.destroy('health', 'office-wang'), 'once')
  const key = await h.database.db.selectFrom('data_keys').selectAll().executeTakeFirstOrThrow()
  t.equal(key.wrapped, null)
  t.ok(key.destroyed_at)
  await t.rejects(enc.keyring.dataKey('health'), { code: 'CATALOG_DATA_KEY_DESTROYED', statusCode: 409 })
  const fresh = createKeyring(h.database.db, { masters: loadMasterKeys(h.config, { generate: false }), suite: 'aes-256-gcm' })
  await t.rejects(fresh.dataKey('health'), /destroyed/, 'no process can get it back')
  const state = (await h.as('security_admin', { method: 'GET', url: '/api/v1/datasets/health/encryption' }, OFFICE)).json()
  t.ok(state.key.destroyedAt)
})
