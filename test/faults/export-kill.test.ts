// A platform process killed with SIGKILL in the middle of an export, and started again on the same
// database (PGlite data dir, or PostgreSQL with TEST_DATABASE_URL): the export ends failed with a
// reason, its partial file is removed (nothing unsealed or partial is left in the exports dir), the
// rows it was charged against its grant's daily quota are given back, and the audit chain verifies.
import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { loadSigningKey } from '../../src/platform/auth/keys.js'
import { createTokenIssuer } from '../../src/platform/auth/token.js'
import { testConfig, type TestApp } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'
import { adminQuery, freshDatabase } from '../helpers/database.js'
import { insertGrant } from '../helpers/grants.js'
import { startServer, type Server } from '../helpers/spawn.js'

const FIELDS = ['student_id', 'name', 'phone', 'college', 'year']

const wait = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

async function until<T> (what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await wait(25)
  }
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** A database holding `rows` students of CS and a grant of them to MATH with the export mode, and what talks to a platform on it. */
async function prepare (t: Tap, rows: number, env: Record<string, string> = {}) {
  const ROWS = rows
  const testDb = await freshDatabase()
  t.teardown(() => testDb.destroy())
  const config = testConfig(testDb.dataDir)
  const key = loadSigningKey(config, { generate: true })! // the children read it from the data dir
  const issuer = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
  const consumer = `Bearer ${issuer.sign({ sub: 'math-reader', unit: 'MATH', roles: ['consumer'] }, 3600)}`
  const auditor = `Bearer ${issuer.sign({ sub: 'auditor', unit: 'OFFICE', roles: ['auditor'] }, 3600)}`

  // the fixture, written before any process serves the database (PGlite has one owner at a time)
  const handle = await testDb.open()
  const db = handle.db
  await db.insertInto('units').values(['CS', 'MATH'].map((code) => ({ code, name: `Unit ${code}`, officer_name: 'Officer', officer_contact: 'o@example.edu.cn' }))).execute()
  const h = { database: handle } as unknown as TestApp
  await insertDataset(h)
  const batch = randomUUID()
  await db.insertInto('ingest_batches').values({ id: batch, dataset_code: 'students', unit: 'CS', sub: 'fixture', client: null, format: 'json', received: ROWS, accepted: ROWS, rejected: 0, errors: '{}' }).execute()
  await sql`
    insert into records (dataset_code, record_key, data, person_key, batch_id, source_unit, source_sub, source_client)
    select 'students', k, jsonb_build_object('student_id', k, 'name', '张' || chr(19968 + (i % 500)) || i, 'phone', '138' || lpad(i::text, 8, '0'),
             'college', (array['CS','MATH','LAW'])[1 + i % 3], 'year', 2020 + i % 5), k, ${batch}::uuid, 'CS', 'fixture', null
    from (select i, (2026000000 + i)::text as k from generate_series(1, ${ROWS}::int) as i) s`.execute(db)
  // the quota holds one export of every row and a little more: a second export passes only if the first gave its rows back
  const { grant } = await insertGrant(h, {
    request: { fields: FIELDS, access_modes: ['api', 'export'], daily_row_quota: ROWS + 100 },
    grant: { fields: FIELDS }
  })
  await handle.close()

  const exportsDir = join(testDb.dataDir, 'exports')
  const api = async (server: Server, path: string, init: RequestInit & { as?: string } = {}) =>
    await fetch(`${server.url}${path}`, { ...init, headers: { authorization: init.as ?? consumer, 'content-type': 'application/json', ...init.headers } })
  return {
    testDb,
    grant,
    auditor,
    env: { DATAGATE_DATA_DIR: testDb.dataDir, DATABASE_URL: testDb.url, BLACKLIST_AUTO_MINUTES: '0', LOG_LEVEL: 'error', ...env },
    files: () => readdirSync(exportsDir).sort(),
    api,
    exportOf: async (server: Server, id: string) => await (await api(server, `/api/v1/exports/${id}`)).json() as { status: string, rowsWritten: number, error: string | null },
    /** PostgreSQL: other processes may serve the same database, so a job is dead only once its heartbeat is STALE_SECONDS (30 s) old; let that time pass at once */
    async ageHeartbeat (id: string) {
      if (testDb.url) await adminQuery(testDb.url, 'update exports set heartbeat_at = now() - interval \'31 seconds\' where id = $1', [id])
    }
  }
}

t.test('SIGKILL mid-export: the export ends failed, its partial file goes, its quota comes back, the chain verifies', async (t) => {
  const ROWS = 150_000
  const { testDb, grant, auditor, env, files, api, exportOf, ageHeartbeat } = await prepare(t, ROWS)

  let server = await startServer(t, 'all', env)
  const created = await api(server, '/api/v1/data/students/exports', { method: 'POST', body: JSON.stringify({ grant: grant.id }) })
  t.equal(created.status, 202, 'the export started')
  const id = (await created.json() as { id: string }).id
  const createdEvent = created.headers.get('x-audit-event')
  t.ok(createdEvent, 'and was audited')
  const progress = await until('the export has written some rows', async () => {
    const e = await exportOf(server, id)
    return e.status === 'running' && e.rowsWritten > 0 ? e : null
  })
  server.process.kill('SIGKILL')
  const exit = await server.exited
  t.equal(exit.signal, 'SIGKILL', `killed with ${progress.rowsWritten} of ${ROWS} rows written`)
  t.same(files(), [`${id}.csv.sealed.part`], 'a partial file is left behind')

  await ageHeartbeat(id)
  const restarted = Date.now()
  server = await startServer(t, 'all', env)
  const failed = await until('the export is marked failed', async () => {
    const e = await exportOf(server, id)
    return e.status === 'failed' ? e : null
  })
  t.match(failed, { status: 'failed', error: 'interrupted: the process writing it stopped' }, `failed with a reason, ${Date.now() - restarted} ms after the restart began`)
  await until('the partial file is removed', async () => files().length === 0, 15_000)
  t.same(files(), [], `the partial file is removed (${Date.now() - restarted} ms after the restart began)`)

  const schema = await (await api(server, '/api/v1/data/students/schema')).json() as { rowsUsedToday: number }
  t.equal(schema.rowsUsedToday, 0, 'the rows the export was charged are given back')
  const again = await api(server, '/api/v1/data/students/exports', { method: 'POST', body: JSON.stringify({ grant: grant.id }) })
  t.equal(again.status, 202, 'so the same export can run again within the quota')
  const id2 = (await again.json() as { id: string }).id
  const done = await until('the second export is done', async () => {
    const e = await exportOf(server, id2)
    if (e.status === 'failed') throw new Error(`the second export failed: ${e.error}`)
    return e.status === 'done' ? e : null
  }, 60_000)
  t.equal(done.rowsWritten, ROWS, 'every row written')
  t.same(files(), [`${id2}.csv.sealed`], 'only its sealed file is in the exports dir')
  const file = await api(server, `/api/v1/exports/${id2}/file`)
  t.equal(file.status, 200)
  t.ok(file.headers.get('x-audit-event'), 'the download is audited')
  const lines = (await file.text()).split('\r\n').filter((l) => l !== '')
  t.ok(lines.length > ROWS, `the whole file: a header, ${ROWS} rows and the decoys (${lines.length} lines)`)
  t.equal((await (await api(server, `/api/v1/exports/${id}`)).json() as { status: string }).status, 'failed', 'the killed export stays failed')

  const verify = await (await api(server, '/api/v1/audit/verify', { as: auditor })).json() as { ok: boolean, checked: number }
  t.match(verify, { ok: true, firstBroken: null }, `the audit chain verifies (${verify.checked} events)`)
  const events = await (await api(server, '/api/v1/audit/events?action=export&limit=50', { as: auditor })).json() as { data: { seq: number, operation: string, objectId: string | null }[] }
  t.ok(events.data.some((e) => String(e.seq) === createdEvent && e.operation === 'data.export.create' && e.objectId === id), 'the killed export\'s creation is in the log')
  const stopped = await server.stop()
  t.equal(stopped.code, 0, 'the platform stops cleanly')

  // what the database says once nobody serves it
  const after = await testDb.open()
  t.teardown(() => after.close())
  const usage = await after.db.selectFrom('grant_usage').select(['rows']).where('grant_id', '=', grant.id).execute()
  t.same(usage.map((u) => Number(u.rows)), [ROWS], 'the grant\'s usage today: the second export only')
  const rows = await after.db.selectFrom('exports').select(['id', 'status', 'error', 'file_name']).orderBy('seq').execute()
  t.match(rows, [{ id, status: 'failed', file_name: null }, { id: id2, status: 'done', file_name: `${id2}.csv.sealed` }], 'one failed export without a file, one done')
})

t.test('SIGKILL right after the export was accepted, before the quota was shared: the quota stays whole', async (t) => {
  const ROWS = 20_000
  // the process shares its quota counts every 5 s: it dies before it ever does
  const { grant, env, files, api, exportOf, ageHeartbeat } = await prepare(t, ROWS, { DATA_QUOTA_SYNC_MS: '5000' })
  let server = await startServer(t, 'all', env)
  const created = await api(server, '/api/v1/data/students/exports', { method: 'POST', body: JSON.stringify({ grant: grant.id }) })
  t.equal(created.status, 202, 'the export was accepted')
  server.process.kill('SIGKILL')
  await server.exited
  const id = (await created.json() as { id: string }).id
  await ageHeartbeat(id)
  server = await startServer(t, 'all', env)
  const failed = await until('the export is marked failed', async () => {
    const e = await exportOf(server, id)
    return e.status === 'failed' || e.status === 'done' ? e : null
  })
  t.match(failed, { status: 'failed', error: /^interrupted/ }, 'it ended failed')
  await until('no file is left', async () => files().length === 0, 15_000)
  const schema = await (await api(server, '/api/v1/data/students/schema')).json() as { rowsUsedToday: number }
  t.equal(schema.rowsUsedToday, 0, 'nothing is counted against the grant today: not the export, and not less than nothing')
  const read = await api(server, `/api/v1/data/students/records?limit=1000&grant=${grant.id}`)
  t.equal(read.status, 200)
  await until('the read is shared', async () => {
    const s = await (await api(server, '/api/v1/data/students/schema')).json() as { rowsUsedToday: number }
    return s.rowsUsedToday === 1000
  }, 10_000)
  t.pass('a read of 1000 rows counts 1000')
  const over = await api(server, '/api/v1/data/students/exports', { method: 'POST', body: JSON.stringify({ grant: grant.id }) })
  t.equal(over.status, 429, 'an export of every row no longer fits in what is left of the quota')
  await server.stop()
})
