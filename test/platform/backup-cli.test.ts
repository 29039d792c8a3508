// `datagate backup` and `datagate restore` from the command line (R5.1, R11.3): a platform's data
// backed up under the master key, checked, refused where it must be, restored into a new database
// that then serves the same data and verifies the same audit chain.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { masterKeyFile } from '../../src/platform/masters.js'
import { keyFile } from '../../src/platform/auth/keys.js'
import { masterKeyOf } from '../../src/platform/master-key.js'
import { build } from '../helpers/build.js'
import { TEST_DATABASE_URL, adminQuery } from '../helpers/database.js'
import { grantFor, sharingSetup } from '../helpers/sharing.js'
import { runCli, startServer } from '../helpers/spawn.js'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** Where a restore goes: a new data dir, and on PostgreSQL a new, empty database. */
async function emptyTarget (t: Tap): Promise<{ env: Record<string, string>, dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'datagate-restore-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  if (!TEST_DATABASE_URL) return { env: { DATAGATE_DATA_DIR: dataDir }, dataDir }
  const name = `datagate_r_${randomBytes(6).toString('hex')}`
  await adminQuery(TEST_DATABASE_URL, `create database ${name}`)
  t.teardown(() => adminQuery(TEST_DATABASE_URL!, `drop database if exists ${name} with (force)`))
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${name}`
  return { env: { DATAGATE_DATA_DIR: dataDir, DATABASE_URL: url.toString() }, dataDir }
}

t.test('backup, check and restore from the command line; the restored platform serves and verifies', async (t) => {
  const h = await build(t)
  await sharingSetup(h)
  await grantFor(h)
  const log = auditLogOf(h.database.db)!
  await log.flush()
  await log.checkpoint({ force: true })
  const events = (await log.verify()).checked
  await h.app.close() // the CLI opens the same database (PGlite allows one process at a time)

  const dir = mkdtempSync(join(tmpdir(), 'datagate-backups-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'nightly.dgb')
  const keyFileEnv = { DATAGATE_MASTER_KEY_FILE: masterKeyFile(h.config.dataDir) }
  const source = { DATAGATE_DATA_DIR: h.config.DATAGATE_DATA_DIR, ...(h.config.DATABASE_URL ? { DATABASE_URL: h.config.DATABASE_URL } : {}) }
  const master = masterKeyOf(Buffer.from(readFileSync(keyFileEnv.DATAGATE_MASTER_KEY_FILE, 'utf8').trim(), 'hex'))

  const [noOut, unknownOption, noIn, noKey] = await Promise.all([
    runCli(t, ['backup'], { ...source, ...keyFileEnv }),
    runCli(t, ['backup', '--out', file, '--compress'], { ...source, ...keyFileEnv }),
    runCli(t, ['restore', '--check'], { ...source, ...keyFileEnv }),
    runCli(t, ['backup', '--out', file], source)
  ])
  t.match(noOut, { code: 2, stderr: /backup needs --out FILE/ })
  t.match(unknownOption, { code: 2, stderr: /Unknown option '--compress'/ })
  t.match(noIn, { code: 2, stderr: /restore needs --in FILE/ })
  t.match(noKey, { code: 2, stderr: /DATAGATE_MASTER_KEY: a backup needs the master key: set DATAGATE_MASTER_KEY or DATAGATE_MASTER_KEY_FILE/ })
  t.notOk(existsSync(file), 'no file written by a refused command')

  const made = await runCli(t, ['backup', '--out', file], { ...source, ...keyFileEnv })
  t.equal(made.code, 0, made.stderr)
  t.match(made.stdout, new RegExp(`^backup ${file}: \\d+ rows of \\d+ tables, \\d+ sequences, schema \\d{4}_\\w+, aes-256-gcm under master key ${master.fingerprint}, \\d+ bytes\\n$`))
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only')
  const again = await runCli(t, ['backup', '--out', file], { ...source, ...keyFileEnv })
  t.match(again, { code: 1, stderr: /nightly\.dgb exists: a backup never overwrites a file/ })

  const checked = await runCli(t, ['restore', '--in', file, '--check'], { ...source, ...keyFileEnv })
  t.equal(checked.code, 0, checked.stderr)
  t.match(checked.stdout, /^backup .*nightly\.dgb: intact; made \S+ from (pglite|postgres), schema \d{4}_\w+, \d+ rows of \d+ tables, aes-256-gcm\n$/)

  const target = await emptyTarget(t)
  const wrongKey = await runCli(t, ['restore', '--in', file], { ...target.env, DATAGATE_MASTER_KEY: randomBytes(32).toString('hex') })
  t.match(wrongKey, { code: 1, stderr: /was made under another master key than DATAGATE_MASTER_KEY .*nothing was restored/ })
  t.notOk(existsSync(join(target.dataDir, 'pglite')), 'not even an embedded database was created')
  const intoSource = await runCli(t, ['restore', '--in', file], { ...source, ...keyFileEnv })
  t.match(intoSource, { code: 1, stderr: /the database is not empty .*a backup is restored into a new, empty database only/ })

  // the platform's signing key comes along (kept apart from the backup), so the restore can verify the chain
  const keys = { ...keyFileEnv, JWT_PRIVATE_KEY: readFileSync(keyFile(h.config.dataDir), 'utf8') }
  const restored = await runCli(t, ['restore', '--in', file], { ...target.env, ...keys })
  t.equal(restored.code, 0, restored.stderr)
  t.match(restored.stdout, /\nrestored \d+ rows into .*\naudit chain verified: \d+ events, \d+ signed checkpoints\n$/)
  t.match(restored.stdout, `audit chain verified: ${events} events`)
  const twice = await runCli(t, ['restore', '--in', file], { ...target.env, ...keys })
  t.match(twice, { code: 1, stderr: /the database is not empty/ }, 'a second restore into the same database is refused')

  const server = await startServer(t, 'all', { ...target.env, ...keys })
  const get = async (path: string, role: Parameters<typeof h.token>[0]) =>
    await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${h.token(role)}` } })
  const verify = await get('/api/v1/audit/verify', 'auditor')
  t.equal(verify.status, 200)
  t.match(await verify.json(), { ok: true, firstBroken: null }, 'the served, restored chain verifies')
  const units = await (await get('/api/v1/units?limit=50', 'system_admin')).json() as { data: { code: string }[] }
  t.same(units.data.map((u) => u.code).sort(), ['CS', 'LAW', 'MATH'], 'the data is there')
})
