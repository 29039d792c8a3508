// Migrations run forwards and backwards, on PGlite and (with TEST_DATABASE_URL) on PostgreSQL, both
// through src/db/migrator.ts and through the `datagate migrate` command.
import { existsSync, readdirSync } from 'node:fs'
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { migrateDown, migrateToLatest, migrationStatus, migrationsDir, pendingMigrations } from '../../src/db/migrator.js'
import { keyFile } from '../../src/platform/auth/keys.js'
import { freshDatabase, type TestDatabase } from '../helpers/database.js'
import { runCli } from '../helpers/spawn.js'

const ALL = readdirSync(migrationsDir).filter((f) => /^\d{4}_.*\.(ts|js)$/.test(f)).map((f) => f.replace(/\.(ts|js)$/, '')).sort()
/** The table each migration creates, in order. */
const TABLES: Record<string, string> = { '0001_create_units': 'units', '0002_create_service_clients': 'service_clients' }

async function tableExists (db: Kysely<any>, table: string): Promise<boolean> {
  const { rows } = await sql<{ found: string | null }>`select to_regclass(${`public.${table}`})::text as found`.execute(db)
  return rows[0]?.found === table
}

t.test('the migrations folder holds what this test knows about', async (t) => {
  t.ok(ALL.length >= 2)
  t.same(ALL.slice(0, 2), Object.keys(TABLES))
})

t.test('migrate down all the way and up again', async (t) => {
  const testDb = await freshDatabase()
  t.teardown(() => testDb.destroy())
  const handle = await testDb.open()
  t.teardown(() => handle.close())
  const { db } = handle

  t.same(await pendingMigrations(db), [], 'a fresh test database is migrated')
  t.ok((await migrationStatus(db)).every((m) => m.executedAt instanceof Date), 'every migration has its time')

  // down, one at a time, newest first
  const reverted: string[] = []
  for (let i = 0; i < ALL.length; i++) {
    const results = await migrateDown(db)
    t.equal(results.length, 1, 'one migration per step down')
    t.match(results[0], { direction: 'Down', status: 'Success' })
    reverted.push(results[0]!.migrationName)
    t.same(await pendingMigrations(db), ALL.slice(ALL.length - reverted.length), `pending after reverting ${results[0]!.migrationName}`)
  }
  t.same(reverted, [...ALL].reverse(), 'reverted newest first')
  t.same(await migrateDown(db), [], 'nothing left to revert')
  for (const table of Object.values(TABLES)) t.notOk(await tableExists(db, table), `${table} is gone`)
  t.ok((await migrationStatus(db)).every((m) => m.executedAt === null))

  // and up again
  const applied = await migrateToLatest(db)
  t.same(applied.map((r) => [r.migrationName, r.direction, r.status]), ALL.map((name) => [name, 'Up', 'Success']))
  t.same(await pendingMigrations(db), [])
  for (const table of Object.values(TABLES)) t.ok(await tableExists(db, table), `${table} is back`)
  t.same(await migrateToLatest(db), [], 'a second run has nothing to do')

  // and the schema works: the foreign key of service_clients onto units came back too
  await db.insertInto('units').values({ code: 'CS', name: 'CS', officer_name: 'n', officer_contact: 'c' }).execute()
  await t.rejects(db.insertInto('service_clients').values({
    client_id: 'c1', name: 'x', unit_code: 'NOPE', roles: ['consumer'], secret_hash: 'h', created_by: 'me'
  }).execute(), { code: '23503' }, 'the foreign key is enforced')
})

/** The environment the CLI needs to reach this test database. */
function cliEnv (testDb: TestDatabase): Record<string, string> {
  return { DATAGATE_DATA_DIR: testDb.dataDir, LOG_LEVEL: 'warn', ...(testDb.url ? { DATABASE_URL: testDb.url } : {}) }
}

t.test('datagate migrate status|down|up', async (t) => {
  const testDb = await freshDatabase()
  t.teardown(() => testDb.destroy())
  const env = cliEnv(testDb)
  const last = ALL[ALL.length - 1]!

  const unknown = runCli(t, ['migrate', 'sideways'], env) // runs beside the rest: it touches nothing
  const lines = (out: string) => out.trim().split('\n')

  let run = await runCli(t, ['migrate', 'status'], env)
  t.equal(run.code, 0, `status exits 0: ${run.stderr}`)
  t.equal(lines(run.stdout).length, ALL.length, 'one line per migration')
  lines(run.stdout).forEach((line, i) => {
    t.match(line, new RegExp(`^applied \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s+${ALL[i]}$`), `status: ${line}`)
  })

  run = await runCli(t, ['migrate', 'down'], env)
  t.equal(run.code, 0, `down exits 0: ${run.stderr}`)
  t.equal(run.stdout, `reverted ${last}\n`)

  run = await runCli(t, ['migrate', 'status'], env)
  t.equal(run.code, 0)
  t.match(lines(run.stdout).at(-1), new RegExp(`^pending\\s+${last}$`), 'the reverted one is pending')
  t.equal(lines(run.stdout).filter((l) => l.startsWith('applied')).length, ALL.length - 1)

  run = await runCli(t, ['migrate'], env)
  t.equal(run.code, 0, `"migrate" (up) exits 0: ${run.stderr}`)
  t.equal(run.stdout, `applied ${last}\n`, '"migrate" alone means up')
  t.ok(existsSync(keyFile(testDb.dataDir)), 'migrate up leaves the signing key in the data dir')

  const bad = await unknown
  t.equal(bad.code, 2, 'an unknown action is a usage error')
  t.match(bad.stderr, /unknown migrate action sideways; one of up, down, status/)
  t.equal(bad.stdout, '')

  const handle = await testDb.open()
  t.teardown(() => handle.close())
  t.same(await pendingMigrations(handle.db), [], 'the database ends where it began')
})
