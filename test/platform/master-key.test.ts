// The master key loader (DATAGATE_MASTER_KEY or DATAGATE_MASTER_KEY_FILE) and its authenticated
// encryption in both suites: AES-256-GCM, and SM4 with HMAC-SM3.
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import t from 'tap'
import { masterFingerprint } from '../../src/catalog/encryption/keyring.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { AeadError } from '../../src/platform/aead.js'
import { CIPHERS, loadMasterKey, masterKeyOf, parseMasterKey } from '../../src/platform/master-key.js'
import { loadDeploymentMasterKey } from '../../src/platform/masters.js'

const hex = () => randomBytes(32).toString('hex')

t.test('the key comes from DATAGATE_MASTER_KEY, else from the file DATAGATE_MASTER_KEY_FILE names', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'datagate-master-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const inline = hex()
  const stored = hex()
  const file = join(dir, 'master-key')
  writeFileSync(file, `${stored.toUpperCase()}\n`, { mode: 0o600 })

  const fromEnv = loadMasterKey({ DATAGATE_MASTER_KEY: inline, DATAGATE_MASTER_KEY_FILE: file })!
  t.same(fromEnv.key, Buffer.from(inline, 'hex'), 'the variable wins over the file')
  t.equal(fromEnv.source, 'DATAGATE_MASTER_KEY')
  const fromFile = loadMasterKey({ DATAGATE_MASTER_KEY_FILE: file })!
  t.same(fromFile.key, Buffer.from(stored, 'hex'), 'upper-case hex and a trailing newline are fine')
  t.equal(fromFile.source, `DATAGATE_MASTER_KEY_FILE (${file})`)
  t.equal(loadMasterKey({}), null, 'neither set: no key')
  t.throws(() => loadDeploymentMasterKey({ dataDir: join(dir, 'no-data-dir') }, { generate: false }), /no master key: set DATAGATE_MASTER_KEY or DATAGATE_MASTER_KEY_FILE/)
  t.equal(fromEnv.fingerprint, masterFingerprint(fromEnv.key), 'the fingerprint is the one the keyring stores')
  t.equal(fromEnv.fingerprint.length, 16)

  const config = loadConfig({ DATAGATE_MASTER_KEY_FILE: file })
  t.same(loadDeploymentMasterKey(config, { generate: false }).key, Buffer.from(stored, 'hex'), 'straight from a loaded configuration')
})

t.test('a malformed key or an unreadable file is a configuration error naming the variable, never the key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'datagate-master-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const write = (name: string, text: string) => {
    const file = join(dir, name)
    writeFileSync(file, text, { mode: 0o600 })
    return file
  }
  const short = hex().slice(0, 62)
  const notHex = `${hex().slice(0, 63)}g`
  const cases: [Parameters<typeof loadMasterKey>[0], RegExp][] = [
    [{ DATAGATE_MASTER_KEY: short }, /^invalid configuration:\n {2}DATAGATE_MASTER_KEY: a master key is 64 hex characters \(256 random bits\); got 62 characters$/],
    [{ DATAGATE_MASTER_KEY: notHex }, /DATAGATE_MASTER_KEY: .*holds characters that are not hexadecimal/],
    [{ DATAGATE_MASTER_KEY: '0'.repeat(64) }, /DATAGATE_MASTER_KEY: .*a placeholder, not a key/],
    [{ DATAGATE_MASTER_KEY_FILE: write('short', short) }, /DATAGATE_MASTER_KEY_FILE \(.*short\): .*got 62 characters/],
    [{ DATAGATE_MASTER_KEY_FILE: write('empty', '\n') }, /DATAGATE_MASTER_KEY_FILE \(.*empty\): .*got 0 characters/],
    [{ DATAGATE_MASTER_KEY_FILE: write('long', 'a'.repeat(5000)) }, /DATAGATE_MASTER_KEY_FILE \(.*long\): not a key file/],
    [{ DATAGATE_MASTER_KEY_FILE: join(dir, 'missing') }, /DATAGATE_MASTER_KEY_FILE \(.*missing\): cannot be read \(no such file\)/]
  ]
  if (process.getuid?.() !== 0) {
    const locked = write('locked', hex())
    chmodSync(locked, 0o000)
    cases.push([{ DATAGATE_MASTER_KEY_FILE: locked }, /cannot be read \(permission denied\)/])
  }
  for (const [config, message] of cases) {
    const err = t.throws(() => loadMasterKey(config), message, String(message)) as Error
    t.ok(err instanceof ConfigError, 'a configuration error: the process stops before it starts (exit 2)')
    t.notMatch(err.message, short.slice(0, 20), 'the key is never echoed')
  }
  t.throws(() => parseMasterKey(` ${hex()}x `, 'X'), /X: .*got 65 characters/)
  t.throws(() => masterKeyOf(randomBytes(16)), /a master key is 32 bytes/)
  t.throws(() => loadConfig({ DATAGATE_MASTER_KEY: short }), /DATAGATE_MASTER_KEY/, 'the environment schema refuses it too')
})

t.test('seal and open in both suites: bound to key, purpose and associated data; any change is refused', async (t) => {
  const master = masterKeyOf(Buffer.from(hex(), 'hex'))
  const other = masterKeyOf(Buffer.from(hex(), 'hex'))
  const plaintext = Buffer.from('身份证号 11010519491231002X')
  const aad = Buffer.from('dataset=students')
  t.same([...CIPHERS], ['aes-256-gcm', 'sm4'])
  for (const algorithm of CIPHERS) {
    const sealed = master.seal(plaintext, { algorithm }, aad)
    t.equal(sealed[0], algorithm === 'sm4' ? 2 : 1, `${algorithm}: the first byte names the suite`)
    t.notOk(sealed.includes(plaintext.subarray(0, 9)), `${algorithm}: no plaintext in the sealed bytes`)
    t.same(master.open(sealed, {}, aad), plaintext, `${algorithm}: opens with the same key, purpose and aad`)
    t.not(master.seal(plaintext, { algorithm }, aad).toString('hex'), sealed.toString('hex'), `${algorithm}: a fresh nonce every time`)
    t.throws(() => other.open(sealed, {}, aad), AeadError, `${algorithm}: another master key`)
    t.throws(() => master.open(sealed, {}, Buffer.from('dataset=staff')), AeadError, `${algorithm}: other associated data`)
    t.throws(() => master.open(sealed), AeadError, `${algorithm}: missing associated data`)
    t.throws(() => master.open(sealed, { purpose: 'backup' }, aad), AeadError, `${algorithm}: another purpose's key`)
    for (const at of [1, 20, sealed.length - 1]) {
      const changed = Buffer.from(sealed)
      changed[at]! ^= 0x01
      t.throws(() => master.open(changed, {}, aad), AeadError, `${algorithm}: a bit flipped at ${at}`)
    }
    t.throws(() => master.open(sealed.subarray(0, sealed.length - 1), {}, aad), AeadError, `${algorithm}: truncated`)
    const forPurpose = master.seal(plaintext, { algorithm, purpose: 'records' })
    t.same(master.open(forPurpose, { purpose: 'records' }), plaintext, `${algorithm}: a named purpose`)
  }
  t.throws(() => master.open(Buffer.from([9, 1, 2, 3])), /not a sealed value/)
})

t.test('derived keys are separate per purpose, suite and salt, and stable', async (t) => {
  const master = masterKeyOf(Buffer.from(hex(), 'hex'))
  const salt = randomBytes(32)
  const keys = [
    master.derive('backup'),
    master.derive('backup', { algorithm: 'sm4' }),
    master.derive('records'),
    master.derive('backup', { salt }),
    master.derive('backup', { salt: randomBytes(32) })
  ].map((k) => k.toString('hex'))
  t.equal(new Set(keys).size, keys.length, 'all different')
  t.equal(master.derive('backup', { salt }).toString('hex'), keys[3], 'the same inputs give the same key')
  t.equal(master.derive('check', { length: 16 }).length, 16)
  t.notOk(keys.includes(master.key.toString('hex')), 'never the master key itself')
})

t.test('the key never shows in JSON, inspection or enumeration', async (t) => {
  const text = hex()
  const master = masterKeyOf(Buffer.from(text, 'hex'), 'DATAGATE_MASTER_KEY')
  const shown = [JSON.stringify(master), inspect(master, { showHidden: false }), String(Object.keys(master)), JSON.stringify({ ...master })]
  for (const s of shown) t.notOk(s.includes(text) || s.includes(Buffer.from(text, 'hex').toString('base64')), s.slice(0, 60))
  t.same(JSON.parse(JSON.stringify(master)), { fingerprint: master.fingerprint, source: 'DATAGATE_MASTER_KEY' })
  t.equal(inspect(master), `MasterKey(${master.fingerprint})`)
})
