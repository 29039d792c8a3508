// The command line: help, usage errors (exit 2, saying what to fix) and `datagate token`.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../src/config.js'
import { keyFile, loadSigningKey } from '../src/platform/auth/keys.js'
import { runCli } from './helpers/spawn.js'

function decode (jwt: string): { header: Record<string, unknown>, payload: Record<string, unknown> } {
  const [header, payload] = jwt.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>)
  return { header: header!, payload: payload! }
}

t.test('help, usage errors and tokens', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'datagate-cli-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  const emptyDir = mkdtempSync(join(tmpdir(), 'datagate-cli-empty-'))
  t.teardown(() => { rmSync(emptyDir, { recursive: true, force: true }) })
  const env = { DATAGATE_DATA_DIR: dataDir }
  const token = (...args: string[]) => runCli(t, ['token', ...args], env)

  // independent commands: run at once
  const [help, noCommand, unknown, issued, missing, conflict, tooLong, notDuration, unknownOption, badRoleInEmptyDir] = await Promise.all([
    runCli(t, ['help'], env),
    runCli(t, [], env),
    runCli(t, ['frobnicate'], env),
    token('--sub', 'ops', '--unit', 'OFFICE', '--roles', 'steward,consumer', '--ttl', '15m'),
    token('--sub', 'ops', '--unit', 'OFFICE'),
    token('--sub', 'ops', '--unit', 'OFFICE', '--roles', 'system_admin,auditor'),
    token('--sub', 'ops', '--unit', 'OFFICE', '--roles', 'consumer', '--ttl', '30d'),
    token('--sub', 'ops', '--unit', 'OFFICE', '--roles', 'consumer', '--ttl', 'soon'),
    token('--sub', 'ops', '--unit', 'OFFICE', '--roles', 'consumer', '--admin'),
    runCli(t, ['token', '--sub', 'ops', '--unit', 'OFFICE', '--roles', 'wizard'], { DATAGATE_DATA_DIR: emptyDir })
  ])

  t.equal(help.code, 0)
  t.match(help.stdout, /^usage: datagate <command>/)
  t.match(help.stdout, /migrate \[up\|down\|status\]/)
  t.match(help.stdout, /backup --out FILE +write an encrypted, integrity-checked backup/)
  t.match(help.stdout, /restore --in FILE \[--check\] +restore a backup into an empty database/)
  t.equal(noCommand.code, 0, 'no command prints help')
  t.equal(noCommand.stdout, help.stdout)
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^unknown command: frobnicate\n\nusage: datagate/)

  t.equal(issued.code, 0, `token exits 0: ${issued.stderr}`)
  t.equal(issued.stderr, '')
  const { header, payload } = decode(issued.stdout.trim())
  const key = loadSigningKey(loadConfig({ DATAGATE_DATA_DIR: dataDir }), { generate: false })
  t.ok(key, 'the first token generated the key into the data dir')
  t.match(header, { alg: 'EdDSA', kid: key!.kid })
  t.match(payload, { sub: 'ops', unit: 'OFFICE', roles: ['steward', 'consumer'], iss: 'datagate', aud: 'datagate' })
  t.equal(Number(payload.exp) - Number(payload.iat), 900, '--ttl 15m')

  const usageError = (label: string, run: { code: number | null, stderr: string, stdout: string }, message: RegExp) => {
    t.equal(run.code, 2, `${label}: exit 2`)
    t.match(run.stderr, message, `${label}: ${run.stderr.trim()}`)
    t.equal(run.stdout, '', `${label}: no token printed`)
  }
  usageError('missing --roles', missing, /token needs --sub, --unit and --roles/)
  usageError('separated duties', conflict, /roles system_admin and auditor are separated duties/)
  usageError('ttl above JWT_MAX_TTL_S', tooLong, /--ttl must be 1s to 86400s \(JWT_MAX_TTL_S\)/)
  usageError('not a duration', notDuration, /not a duration: soon \(use e\.g\. 90s, 15m, 1h, 7d\)/)
  usageError('unknown option', unknownOption, /Unknown option '--admin'/)
  usageError('unknown role', badRoleInEmptyDir, /unknown role\(s\): wizard; known: system_admin/)
  t.notOk(existsSync(keyFile(emptyDir)), 'a refused command generates no key')
})
