// Backups round-trip (R5.1, R11.3): a dataset with its records (sealed fields among them), a sharing
// workflow to its grant, audit events in an earlier month and signed checkpoints are backed up,
// restored into empty databases (one with no schema at all, one freshly migrated), and come back
// value for value; the restored audit chain verifies and the platform carries on where it stopped.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { createAuditWriter } from '../../src/audit/writer.js'
import { masterKeyFile } from '../../src/platform/masters.js'
import { createPGlite, type DatabaseHandle } from '../../src/db/create-db.js'
import { createBackup } from '../../src/cli/backup/dump.js'
import { inspectBackup, restoreBackup } from '../../src/cli/backup/restore.js'
import { SEEDED_TABLES, describeTables, listSequences, useCanonicalText } from '../../src/cli/backup/schema.js'
import type { Role } from '../../src/platform/auth/roles.js'
import { masterKeyOf, type MasterKey } from '../../src/platform/master-key.js'
import { build, testConfig, type TestApp, type TestContext } from '../helpers/build.js'
import { field, insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'
import { freshDatabase } from '../helpers/database.js'
import { insertGrant } from '../helpers/grants.js'
import { addPurpose, recordConsents } from '../helpers/purposes.js'
import { CS_STEWARD, MATH, grantFor, sharingSetup, file } from '../helpers/sharing.js'

const DAY = 86_400_000
const CLINIC_FIELDS = [STUDENT_FIELDS[0]!, field('name', 'string'), field('diagnosis', 'string', { piType: 'health', sensitivity: 4 })]

/** Every row of every table and every sequence, as text, in a stable order: what a restore must give back. */
async function contents (db: Kysely<any>) {
  return await db.transaction().execute(async (trx) => {
    await useCanonicalText(trx)
    const tables: Record<string, (string | null)[][]> = {}
    for (const table of await describeTables(trx)) {
      const columns = sql.join(table.columns.map((c) => sql`${sql.id(c.name)}::text`))
      const order = sql.join(table.columns.map((_, i) => sql.lit(i + 1)))
      const { rows } = await sql<Record<string, string | null>>`select ${columns} from ${sql.id(table.name)} order by ${order}`.execute(trx)
      tables[table.name] = rows.map((r) => Object.values(r))
    }
    const sequences: Record<string, unknown> = {}
    for (const name of await listSequences(trx)) {
      sequences[name] = (await sql`select last_value::text, is_called from ${sql.id(name)}`.execute(trx)).rows[0]
    }
    const { rows: held } = await sql<{ name: string }>`select partition_name as name from audit_partitions() where first_seq is not null order by 1`.execute(trx)
    return { tables, sequences, partitions: held.map((p) => p.name) }
  })
}

/** What the source platform holds: every kind of value the schema has, and a chain across months. */
async function fixture (h: TestApp) {
  await sharingSetup(h)
  const granted = await grantFor(h, { purpose: '奖学金评定 "quoted", \\ back\nslash', rowFilter: { college: 'CS' } })
  await file(h, { dataset: 'courses', fields: ['student_id'], validUntil: '2027-02-28' })
  await insertDataset(h, { code: 'clinic', fields: CLINIC_FIELDS, sensitive_pi: true })
  const put = await h.as('steward', {
    method: 'PUT',
    url: '/api/v1/datasets/clinic/records',
    payload: [
      { student_id: '2026000001', name: '王小明', diagnosis: 'asthma' },
      { student_id: '2026000002', name: 'Zoë O\'Brien', diagnosis: 'none' }
    ]
  }, CS_STEWARD)
  if (put.statusCode !== 200) throw new Error(`ingest: ${put.body}`)
  // sensitive data: the grant rests on consent, and both students consented to its purpose (purposes
  // and consents are carried by the backup too)
  await addPurpose(h, 'clinic_follow_up')
  await recordConsents(h, 'clinic', 'clinic_follow_up', ['2026000001', '2026000002'])
  await insertGrant(h, {
    request: { dataset_code: 'clinic', fields: ['student_id', 'diagnosis'], unmasked_reason: 'campus clinic follow-up', consent_based: true, purpose_code: 'clinic_follow_up' },
    grant: { fields: ['student_id', 'diagnosis'], masked: false, consent_based: true, purpose_code: 'clinic_follow_up' }
  })
  const log = auditLogOf(h.database.db)!
  await log.flush()
  // a writer whose clock stands 40 days back: a month without a partition in the target
  const past = createAuditWriter({ db: h.database.db, hash: 'sm3', signingKey: h.key, checkpointEvents: 3, checkpointSeconds: 60, now: () => new Date(Date.now() - 40 * DAY) })
  const read = (i: number) => ({ action: 'query' as const, operation: 'records.read', actor: { sub: `reader-${i}`, unit: 'MATH', roles: ['consumer' as const] }, dataset: 'clinic', fields: ['diagnosis'], rows: i, details: { n: i, ratio: 0.1 + i, nested: { list: [1, 'two', null] } } })
  for (let i = 0; i < 4; i++) await past.append(read(i))
  for (let i = 4; i < 6; i++) await log.append(read(i))
  await log.flush()
  await log.repository.ensurePartitions()
  await log.checkpoint({ force: true })
  return granted as { id: string }
}

/** An app on a restored database, with the source's keys (signing, masking and master key in its data dir). */
async function appOn (t: TestContext, h: TestApp, database: DatabaseHandle) {
  const app = await buildApp({ config: testConfig(h.testDb.dataDir), database, mode: 'all', keys: { signing: h.key, verification: h.key }, logger: false })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

t.test('a backup restores every row, sequence and audit partition, and the restored chain verifies', async (t) => {
  const h = await build(t)
  const granted = await fixture(h)
  const master: MasterKey = masterKeyOf(Buffer.from(readFileSync(masterKeyFile(h.config.dataDir), 'utf8').trim(), 'hex'), 'the data dir key')
  await h.app.close() // a quiet source: no background write lands between the backup and the comparison
  const source = await h.testDb.open()
  t.teardown(() => source.close())
  const before = await contents(source.db)
  t.ok(before.tables.audit_checkpoints!.length >= 2, 'signed checkpoints to carry')
  t.equal(before.partitions.length, 2, 'events in two months')

  const dir = mkdtempSync(join(tmpdir(), 'datagate-backup-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const files = { aes: join(dir, 'aes.dgb'), sm4: join(dir, 'sm4.dgb') }
  const made = await createBackup({ db: source.db, database: source.kind, out: files.aes, masterKey: master, algorithm: 'aes-256-gcm' })
  await createBackup({ db: source.db, database: source.kind, out: files.sm4, masterKey: master, algorithm: 'sm4' })
  t.match(made, { file: files.aes, algorithm: 'aes-256-gcm', schema: /^\d{4}_/, rows: Object.values(before.tables).reduce((a, r) => a + r.length, 0) })
  t.same(made.tables, Object.fromEntries(Object.entries(before.tables).map(([name, rows]) => [name, rows.length])), 'rows of every table counted')
  const raw = readFileSync(files.aes)
  t.equal(raw.subarray(0, 8).toString('latin1'), 'DGBACKUP')
  for (const secret of ['王小明', 'asthma', 'reader-1', '奖学金', 'MATH']) {
    t.notOk(raw.includes(Buffer.from(secret)), `nothing of the data in the clear: ${secret}`)
  }
  const info = await inspectBackup(files.sm4, master)
  t.match(info, { header: { algorithm: 'sm4', kdf: 'hkdf-sm3', database: source.kind }, restorable: true, rows: made.rows })

  // into a database with no schema at all (embedded, in memory): migrated to the backup's schema first
  const bare = await createPGlite(undefined)
  const intoBare = await restoreBackup({ file: files.aes, masterKey: master, openDatabase: async () => bare.db })
  t.equal(intoBare.migrated.length, info.header.migrations.length, 'every migration of the backup ran')
  t.same(await contents(bare.db), before, 'the schema-less target holds exactly what the source held')
  // into a freshly migrated one (PostgreSQL when the suite runs there): its seeded rows are replaced
  const migrated = await freshDatabase()
  t.teardown(() => migrated.destroy())
  const target = await migrated.open()
  const intoMigrated = await restoreBackup({ file: files.sm4, masterKey: master, openDatabase: async () => target.db })
  t.same(intoMigrated.migrated, [], 'already at the schema')
  t.same(await contents(target.db), before, 'the migrated target holds exactly what the source held')
  t.equal((await sql<{ n: number }>`select count(*)::int as n from audit_events_default`.execute(target.db)).rows[0]!.n, 0, 'every event in its month\'s partition')

  for (const [label, database] of [['schema-less', bare], ['migrated', target]] as const) {
    const app = await appOn(t, h, database)
    const log = auditLogOf(app.db)!
    const verified = await log.verify()
    t.match(verified, { ok: true, checked: before.tables.audit_events!.length, firstBroken: null }, `${label}: the restored chain verifies (${String(verified.reason)})`)
    t.ok(verified.checkpoints >= 2, `${label}: with its signed checkpoints`)
    const as = async (role: Role, claims: { unit: string, sub: string }, url: string, method: 'GET' | 'POST' = 'GET', payload?: object) =>
      await app.inject({ method, url, headers: { authorization: `Bearer ${h.token(role, claims)}` }, ...(payload ? { payload } : {}) })
    const route = await as('auditor', { unit: 'OFFICE', sub: 'auditor-li' }, '/api/v1/audit/verify')
    t.equal(route.statusCode, 200, route.body)
    t.match(route.json(), { ok: true, firstBroken: null }, `${label}: /api/v1/audit/verify says ok`)
    const grant = await as('consumer', MATH, `/api/v1/share-requests/${granted.id}`)
    t.match(grant.json(), { id: granted.id, status: 'active', rowFilter: { college: 'CS' } }, `${label}: the workflow is where it was`)
    // a new request takes the next number: sequences were restored, nothing collides
    const next = await as('consumer', MATH, '/api/v1/share-requests', 'POST', {
      dataset: 'grades', fields: ['student_id'], rowFilter: {}, purpose: 'after the restore', legalBasis: 'performance of statutory duties', accessModes: ['api'], validFrom: '2027-01-04', validUntil: '2027-03-01', dailyRowQuota: 10, thirdParty: false
    })
    t.equal(next.statusCode, 201, `${label}: the restored platform takes new work: ${next.body}`)
    const clinic = await as('consumer', { unit: 'MATH', sub: 'math-doctor' }, '/api/v1/data/clinic/records')
    t.same(clinic.json().data, [{ student_id: '2026000001', diagnosis: 'asthma' }, { student_id: '2026000002', diagnosis: 'none' }],
      `${label}: sealed fields open under the same master key`)
    await log.flush()
    t.match(await log.verify(), { ok: true }, `${label}: the chain goes on from the restored head`)
  }
})

t.test('a freshly migrated database holds rows only in the tables listed as seeded', async (t) => {
  const fresh = await freshDatabase()
  t.teardown(() => fresh.destroy())
  const handle = await fresh.open()
  t.teardown(() => handle.close())
  const holding: string[] = []
  for (const table of await describeTables(handle.db)) {
    const { rows } = await sql<{ any: boolean }>`select exists (select from ${sql.id(table.name)}) as any`.execute(handle.db)
    if (rows[0]!.any) holding.push(table.name)
  }
  t.same(holding.sort(), [...SEEDED_TABLES].sort(), 'a migration that seeds another table must add it to SEEDED_TABLES')
})
