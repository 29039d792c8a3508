// Backups refused (R5.1, R11.3): a wrong master key, a file changed, reordered, truncated or extended
// after it was written, a schema this version does not know, a target that is not empty. Each is
// refused before the target database is even opened, or rolled back whole; a backup never overwrites
// a file and is never made under a key the deployment does not know.
import { randomBytes, randomUUID } from 'node:crypto'
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { createRecordRepository } from '../../src/catalog/records/repository.js'
import { masterKeyFile } from '../../src/platform/masters.js'
import { createPGlite, type DatabaseHandle } from '../../src/db/create-db.js'
import { createBackup } from '../../src/cli/backup/dump.js'
import { BackupError, CHUNK_BYTES, FrameWriter, newHeader, openBackup, type BackupHeader } from '../../src/cli/backup/format.js'
import { inspectBackup, restoreBackup } from '../../src/cli/backup/restore.js'
import { masterKeyOf, type MasterKey } from '../../src/platform/master-key.js'
import { build, type TestApp } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'
import { freshDatabase } from '../helpers/database.js'

/** A source with enough incompressible rows that its backup spans several frames. */
async function source (t: Tap, rows = 800): Promise<{ h: TestApp, db: DatabaseHandle, master: MasterKey }> {
  const h = await build(t)
  await insertDataset(h, { code: 'noise' })
  await createRecordRepository(h.database.db).ingest({
    batch: randomUUID(), dataset: 'noise', unit: 'CS', sub: 'fixture', client: null, format: 'json', received: rows, accepted: rows, rejected: 0, errors: {}
  }, Array.from({ length: rows }, (_, i) => ({ key: String(i), personKey: String(i), data: { student_id: String(i), name: randomBytes(400).toString('base64') } })))
  const master = masterKeyOf(Buffer.from(readFileSync(masterKeyFile(h.config.dataDir), 'utf8').trim(), 'hex'), 'the data dir key')
  await h.app.close()
  const db = await h.testDb.open()
  t.teardown(() => db.close())
  return { h, db, master }
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

function tempDir (t: Tap) {
  const dir = mkdtempSync(join(tmpdir(), 'datagate-backup-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/** The frames of a backup file: where each starts and how long it is (length prefix included). */
function frames (bytes: Buffer): { start: number, length: number }[] {
  let at = 8 + 2 + 4 + bytes.readUInt32BE(10)
  const list = []
  while (at < bytes.length) {
    const length = 4 + bytes.readUInt32BE(at)
    list.push({ start: at, length })
    at += length
  }
  return list
}

/** A restore that must be refused before the target is opened: resolves the BackupError. */
async function refused (t: Tap, file: string, master: MasterKey, code: string, message: RegExp, label: string) {
  let opened = false
  const err = await restoreBackup({ file, masterKey: master, openDatabase: async () => { opened = true; throw new Error('opened') } })
    .then(() => null, (e: unknown) => e)
  t.ok(err instanceof BackupError, `${label}: refused (${(err as Error)?.message})`)
  t.match(err, { code, message }, label)
  t.notOk(opened, `${label}: the target database was never opened`)
  if (code === 'BACKUP_SCHEMA_MISMATCH') t.match(await inspectBackup(file, master), { restorable: false }, `${label}: --check says it cannot be restored here`)
  else await t.rejects(inspectBackup(file, master), { code }, `${label}: --check refuses it too`)
}

t.test('a changed, reordered, truncated or extended file and a wrong key are refused before anything is opened', async (t) => {
  const { db, master } = await source(t)
  const dir = tempDir(t)
  const file = join(dir, 'good.dgb')
  await createBackup({ db: db.db, database: db.kind, out: file, masterKey: master, algorithm: 'aes-256-gcm' })
  const good = readFileSync(file)
  const list = frames(good)
  t.ok(list.length >= 4, `several frames (${list.length})`)
  t.equal(list[0]!.length, list[1]!.length, 'full frames have one size')
  t.equal(list[0]!.length, 4 + 1 + 12 + CHUNK_BYTES + 16, 'a chunk sealed by AES-256-GCM')
  t.ok((await inspectBackup(file, master)).restorable, 'the untouched file checks out')

  const variant = (name: string, bytes: Buffer) => {
    const path = join(dir, name)
    writeFileSync(path, bytes)
    return path
  }
  const flip = (at: number) => {
    const copy = Buffer.from(good)
    copy[at]! ^= 0x20
    return copy
  }
  const [first, second, third] = list
  const last = list[list.length - 1]!
  const slice = (f: { start: number, length: number }) => good.subarray(f.start, f.start + f.length)

  await refused(t, file, masterKeyOf(randomBytes(32), 'another key'), 'BACKUP_WRONG_MASTER_KEY', /was made under another master key than another key/, 'wrong master key')
  await refused(t, variant('header.dgb', flip(good.indexOf('"createdAt":"') + 13 + 10)), master, 'BACKUP_DAMAGED', /frame 0 fails its integrity check/, 'header changed')
  await refused(t, variant('header-json.dgb', flip(15)), master, 'BACKUP_DAMAGED', /the backup header is damaged/, 'header unreadable')
  await refused(t, variant('middle.dgb', flip(second!.start + 100)), master, 'BACKUP_DAMAGED', /frame 1 fails its integrity check/, 'a byte of frame 1 changed')
  await refused(t, variant('final.dgb', flip(last.start + last.length - 1)), master, 'BACKUP_DAMAGED', new RegExp(`frame ${list.length - 1} fails`), 'the final frame changed')
  await refused(t, variant('length.dgb', flip(third!.start + 1)), master, 'BACKUP_DAMAGED', /frame 2/, 'a frame length changed')
  const swapped = Buffer.concat([good.subarray(0, first!.start), slice(first!), slice(third!), slice(second!), good.subarray(third!.start + third!.length)])
  await refused(t, variant('swapped.dgb', swapped), master, 'BACKUP_DAMAGED', /frame 1 fails/, 'frames 1 and 2 swapped')
  const dropped = Buffer.concat([good.subarray(0, second!.start), good.subarray(third!.start)])
  await refused(t, variant('dropped.dgb', dropped), master, 'BACKUP_DAMAGED', /frame 1 fails/, 'frame 1 removed')
  await refused(t, variant('no-final.dgb', good.subarray(0, last.start)), master, 'BACKUP_TRUNCATED', /truncated: it ends after \d+ frames, before its final frame/, 'cut before the final frame')
  await refused(t, variant('cut.dgb', good.subarray(0, second!.start + 1000)), master, 'BACKUP_TRUNCATED', /frame 1 is cut short/, 'cut inside a frame')
  await refused(t, variant('extended.dgb', Buffer.concat([good, Buffer.from('more')])), master, 'BACKUP_DAMAGED', /bytes follow its final frame/, 'bytes appended')
  await refused(t, variant('final-twice.dgb', Buffer.concat([good, slice(last)])), master, 'BACKUP_DAMAGED', /bytes follow its final frame/, 'the final frame repeated')
  await refused(t, variant('random.dgb', randomBytes(5000)), master, 'BACKUP_NOT_A_BACKUP', /is not a Datagate backup/, 'not a backup')
  await refused(t, join(dir, 'missing.dgb'), master, 'BACKUP_NOT_A_BACKUP', /cannot read .*missing\.dgb \(ENOENT\)/, 'no such file')
  const future = Buffer.from(good)
  future.writeUInt16BE(2, 8)
  await refused(t, variant('future.dgb', future), master, 'BACKUP_UNSUPPORTED', /a backup of format 2; this version of Datagate reads format 1/, 'a newer format')
})

/** The backup's dump under a changed header, sealed anew with the same key (as a later version might write it). */
async function reframe (from: string, to: string, master: MasterKey, change: (h: BackupHeader) => Partial<BackupHeader>) {
  const opened = await openBackup(from, master)
  const trailer = await (async () => {
    const chunks: Buffer[] = []
    const it = opened.frames()
    let next = await it.next()
    while (!next.done) { chunks.push(next.value); next = await it.next() }
    return { chunks, trailer: next.value }
  })()
  await opened.close()
  const header = newHeader(master, { ...opened.header, ...change(opened.header) })
  await pipeline(Readable.from(trailer.chunks), new FrameWriter(master, header, () => ({ tables: trailer.trailer.tables, sequences: trailer.trailer.sequences })), createWriteStream(to))
}

t.test('a backup of a schema this version does not know, or older than the target\'s, is refused', async (t) => {
  const { db, master } = await source(t, 10)
  const dir = tempDir(t)
  const file = join(dir, 'good.dgb')
  await createBackup({ db: db.db, database: db.kind, out: file, masterKey: master, algorithm: 'sm4' })

  const newer = join(dir, 'newer.dgb')
  await reframe(file, newer, master, (h) => ({ migrations: [...h.migrations, '9999_from_the_future'] }))
  t.match(await inspectBackup(newer, master), { restorable: false, schema: '9999_from_the_future' }, 'intact, but not restorable here')
  await refused(t, newer, master, 'BACKUP_SCHEMA_MISMATCH', /holds schema 9999_from_the_future, which this version of Datagate does not know/, 'a newer schema')
  const forked = join(dir, 'forked.dgb')
  await reframe(file, forked, master, (h) => ({ migrations: [...h.migrations.slice(0, -1), '0099_another_branch'] }))
  await refused(t, forked, master, 'BACKUP_SCHEMA_MISMATCH', /which this version of Datagate does not know/, 'another history')

  const older = join(dir, 'older.dgb')
  await reframe(file, older, master, (h) => ({ migrations: h.migrations.slice(0, -1) }))
  const target = await freshDatabase()
  t.teardown(() => target.destroy())
  const handle = await target.open()
  t.teardown(() => handle.close())
  await t.rejects(restoreBackup({ file: older, masterKey: master, openDatabase: async () => handle.db }),
    { code: 'BACKUP_SCHEMA_MISMATCH', message: /the database is at schema .*, beyond the backup's/ }, 'the target is ahead of the backup')
  t.equal(await count(handle.db, 'units'), 0, 'nothing restored')
})

const count = async (db: Kysely<any>, table: string) =>
  (await sql<{ n: number }>`select count(*)::int as n from ${sql.id(table)}`.execute(db)).rows[0]!.n

t.test('a database that is not empty is refused; a restore that fails halfway leaves nothing behind', async (t) => {
  const { db, master } = await source(t, 10)
  const dir = tempDir(t)
  const file = join(dir, 'good.dgb')
  await createBackup({ db: db.db, database: db.kind, out: file, masterKey: master, algorithm: 'aes-256-gcm' })
  const units = await count(db.db, 'units')
  const records = await count(db.db, 'records')
  const events = await count(db.db, 'audit_events')

  await t.rejects(restoreBackup({ file, masterKey: master, openDatabase: async () => db.db }),
    { code: 'BACKUP_NOT_EMPTY', message: /the database is not empty \([a-z_, …]+ hold rows\): a backup is restored into a new, empty database only/ })
  t.same([await count(db.db, 'units'), await count(db.db, 'records'), await count(db.db, 'audit_events')], [units, records, events], 'the source is untouched')

  // a target the backup does not fit halfway through: the one transaction rolls back, seeded rows included
  const target = await freshDatabase()
  t.teardown(() => target.destroy())
  const handle = await target.open()
  t.teardown(() => handle.close())
  await sql`create table zz_local_notes (id int primary key)`.execute(handle.db)
  await t.rejects(restoreBackup({ file, masterKey: master, openDatabase: async () => handle.db }),
    { code: 'BACKUP_SCHEMA_MISMATCH', message: /does not fit this database's schema: it lacks table\(s\) zz_local_notes/ })
  t.same([await count(handle.db, 'units'), await count(handle.db, 'records'), await count(handle.db, 'audit_events')], [0, 0, 0], 'no row stayed')
  t.equal(await count(handle.db, 'grading_levels'), 4, 'the seeded rows the restore replaced are back')
  t.equal(await count(handle.db, 'audit_chain_head'), 1)
})

t.test('a backup never overwrites a file, needs a schema and is made under the deployment\'s master key', async (t) => {
  const { db, master } = await source(t, 10)
  const dir = tempDir(t)
  const existing = join(dir, 'existing.dgb')
  writeFileSync(existing, 'keep me')
  await t.rejects(createBackup({ db: db.db, database: db.kind, out: existing, masterKey: master, algorithm: 'aes-256-gcm' }),
    { code: 'BACKUP_EXISTS', message: /existing\.dgb exists: a backup never overwrites a file/ })
  t.equal(readFileSync(existing, 'utf8'), 'keep me')

  const stranger = masterKeyOf(randomBytes(32), 'DATAGATE_MASTER_KEY')
  await t.rejects(createBackup({ db: db.db, database: db.kind, out: join(dir, 'stranger.dgb'), masterKey: stranger, algorithm: 'aes-256-gcm' }),
    { code: 'BACKUP_WRONG_MASTER_KEY', message: new RegExp(`DATAGATE_MASTER_KEY \\(fingerprint ${stranger.fingerprint}\\) is not this deployment's master key \\(the database knows ${master.fingerprint}\\)`) })
  t.same(readdirSync(dir), ['existing.dgb'], 'no file and no partial file left behind')

  const bare = await createPGlite(undefined)
  t.teardown(() => bare.close())
  await t.rejects(createBackup({ db: bare.db, database: 'pglite', out: join(dir, 'bare.dgb'), masterKey: master, algorithm: 'aes-256-gcm' }),
    { code: 'BACKUP_NO_SCHEMA', message: /the database has no Datagate schema: nothing to back up/ })
  t.notOk(existsSync(join(dir, 'bare.dgb')))
})
