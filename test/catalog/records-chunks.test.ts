// Ingest writes a batch in chunks of UPSERT_CHUNK records, sealing chunk k + 1 while the database
// writes chunk k (one transaction, one connection): every chunk is sealed as a lone one would be,
// and a failure in any chunk, in the sealing or in the database, leaves nothing of the batch.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { rowFilterSql } from '../../src/platform/row-filter.js'
import { ENCRYPTED_MARK } from '../../src/catalog/encryption/codec.js'
import { recordSealer } from '../../src/catalog/encryption/seal-records.js'
import { createRecordRepository, UPSERT_CHUNK, type BatchSummary } from '../../src/catalog/records/repository.js'
import type { ValidRecord } from '../../src/catalog/records/validate.js'
import { build, type TestApp } from '../helpers/build.js'
import { insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'
import { studentRow } from '../helpers/data.js'

const COUNT = UPSERT_CHUNK * 2 + 7 // three chunks, the last a short one
const PI = STUDENT_FIELDS.filter((f) => f.piType !== null && f.name !== 'student_id').map((f) => f.name)

const FIELDS = ['student_id', 'name', 'id_number', 'phone', 'email', 'college', 'year']
const row = (n: number) => { const all = studentRow(n); return Object.fromEntries(FIELDS.map((f) => [f, all[f]])) }

async function counts (h: TestApp) {
  const n = async (table: 'records' | 'ingest_batches') =>
    Number((await h.database.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  return { records: await n('records'), batches: await n('ingest_batches') }
}

const summary = (rows: number): BatchSummary => ({
  batch: randomUUID(), dataset: 'students', unit: 'CS', sub: 'fixture', client: null, format: 'json', received: rows, accepted: rows, rejected: 0, errors: {}
})
const valid = (from: number, count: number): ValidRecord[] =>
  Array.from({ length: count }, (_, i) => { const data = row(from + i); return { key: String(data.student_id), personKey: String(data.student_id), data } })

t.test('a batch of several chunks: every record sealed, with its blind indexes and kept forms, and found by them', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  const rows = Array.from({ length: COUNT }, (_, i) => row(i + 1))
  const res = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/students/records', payload: rows }, { unit: 'CS', sub: 'steward-li' })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  t.match(res.json(), { accepted: COUNT, rejected: [] })

  const stored = await h.database.db.selectFrom('records').selectAll().where('dataset_code', '=', 'students').orderBy('record_key').execute()
  t.equal(stored.length, COUNT)
  const unsealed = stored.filter((r) => PI.some((f) => r.data[f] !== ENCRYPTED_MARK) || !r.sealed || Object.keys(r.blind ?? {}).length !== PI.length ||
    (r.masked as { display?: object } | null)?.display === undefined)
  t.same(unsealed.map((r) => r.record_key), [], 'no record of any chunk left with a clear value, a blind index or its kept forms missing')
  t.equal(new Set(stored.map((r) => r.batch_id)).size, 1, 'one batch')

  const facts = await h.database.db.selectFrom('datasets').selectAll().where('code', '=', 'students').executeTakeFirstOrThrow()
  const codec = (await h.app.encryption.codec(facts))!
  const last = rows.at(-1)!
  t.same(codec.decode(String(last.student_id), { ...stored.at(-1)!.data }, stored.at(-1)!.sealed), last, 'the last chunk opens to what was sent')
  const found = await h.database.db.selectFrom('records').select('record_key')
    .where('dataset_code', '=', 'students').where(rowFilterSql({ phone: String(last.phone) }, facts.fields, codec)).execute()
  t.same(found.map((r) => r.record_key), [String(last.student_id)], 'an equality filter on a sealed field finds a record of the last chunk')
})

t.test('a chunk that fails to seal, after others were written, leaves nothing of the batch', async (t) => {
  const h = await build(t)
  const facts = await insertDataset(h)
  const repo = createRecordRepository(h.database.db)
  await h.app.encryption.keyring.dataKey('students') // made before the transaction, as the route does
  const prepared: number[] = []
  const failing = h.database.db.transaction().execute(async (trx) => {
    const seal = (await recordSealer(h.app.encryption, facts, trx))!
    await repo.ingest(summary(COUNT), valid(1, COUNT), trx, {
      prepare: (chunk) => {
        prepared.push(chunk.length)
        if (prepared.length === 3) throw new Error('the third chunk does not seal')
        seal(chunk)
      }
    })
  })
  await t.rejects(failing, /the third chunk does not seal/)
  t.same(prepared, [UPSERT_CHUNK, UPSERT_CHUNK, 7], 'chunk by chunk')
  t.same(await counts(h), { records: 0, batches: 0 }, 'neither the chunks written before nor the batch row remain')

  // the connection is clean afterwards: the same batch goes in whole
  await h.database.db.transaction().execute(async (trx) => {
    await repo.ingest(summary(COUNT), valid(1, COUNT), trx, { prepare: (await recordSealer(h.app.encryption, facts, trx))! })
  })
  t.same(await counts(h), { records: COUNT, batches: 1 })
})

t.test('a chunk the database refuses, after others were written, leaves nothing of the batch', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  const repo = createRecordRepository(h.database.db)
  const rows = valid(1, COUNT)
  // PostgreSQL stores no U+0000 in jsonb (the route refuses one before; the repository does not look)
  rows[COUNT - 1]!.data.name = 'nul \u0000 inside'
  const chunks: number[] = []
  const failing = h.database.db.transaction().execute(async (trx) => {
    await repo.ingest(summary(COUNT), rows, trx, { prepare: (chunk) => { chunks.push(chunk.length) } })
  })
  await t.rejects(failing)
  t.same(chunks, [UPSERT_CHUNK, UPSERT_CHUNK, 7], 'the refused record is in the last chunk')
  t.same(await counts(h), { records: 0, batches: 0 })
})
