// `datagate keys status|rotate`: the operator's view of data keys, and a master key rotation run from
// the command line against the database the platform wrote.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { masterFingerprint } from '../../src/catalog/encryption/keyring.js'
import { masterKeyFile } from '../../src/platform/masters.js'
import { build } from '../helpers/build.js'
import { field, insertDataset, STUDENT_FIELDS } from '../helpers/catalog.js'
import { runCli } from '../helpers/spawn.js'

t.test('keys status and keys rotate', async (t) => {
  const h = await build(t)
  await insertDataset(h, { code: 'clinic', fields: [STUDENT_FIELDS[0]!, field('diagnosis', 'string', { piType: 'health', sensitivity: 4 })] })
  const put = await h.as('steward', { method: 'PUT', url: '/api/v1/datasets/clinic/records', payload: [{ student_id: '2026000001', diagnosis: 'asthma' }] }, { unit: 'CS', sub: 'cs-steward' })
  t.equal(put.statusCode, 200)
  await h.app.close() // the CLI opens the same database (PGlite allows one process at a time)

  const env = { DATAGATE_DATA_DIR: h.config.DATAGATE_DATA_DIR, ...(h.config.DATABASE_URL ? { DATABASE_URL: h.config.DATABASE_URL } : {}) }
  const old = readFileSync(masterKeyFile(h.config.dataDir), 'utf8').trim()
  const fresh = randomBytes(32).toString('hex')
  const oldPrint = masterFingerprint(Buffer.from(old, 'hex'))
  const newPrint = masterFingerprint(Buffer.from(fresh, 'hex'))

  const status = await runCli(t, ['keys', 'status'], env)
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, new RegExp(`^master key ${oldPrint}\\nclinic  aes-256-gcm  age 0 d  master ${oldPrint}\\n$`))

  const wrong = await runCli(t, ['keys', 'status'], { ...env, DATAGATE_MASTER_KEY: fresh })
  t.equal(wrong.code, 1, 'the new key alone does not open the data keys')
  t.match(wrong.stderr, new RegExp(`wrapped by master key ${oldPrint}, but the configured key is ${newPrint}`))

  const rotated = await runCli(t, ['keys', 'rotate'], { ...env, DATAGATE_MASTER_KEY: fresh, DATAGATE_MASTER_KEY_PREVIOUS: old })
  t.equal(rotated.code, 0, rotated.stderr)
  t.equal(rotated.stdout, `re-wrapped 1 data key(s) under master key ${newPrint}; 0 left under another master key\n`)
  const after = await runCli(t, ['keys', 'status'], { ...env, DATAGATE_MASTER_KEY: fresh })
  t.equal(after.code, 0, after.stderr)
  t.match(after.stdout, new RegExp(`clinic  aes-256-gcm  age 0 d  master ${newPrint}\\n`))

  const usage = await runCli(t, ['keys'], env)
  t.equal(usage.code, 2)
  t.match(usage.stderr, /keys needs an action: status or rotate/)
})
