import { parseArgs } from 'node:util'
import pino from 'pino'
import { ConfigError, loadConfig } from './config.js'
import { keyFile, loadSigningKey } from './platform/auth/keys.js'
import { parseRoles } from './platform/auth/roles.js'
import { createTokenIssuer, parseDuration } from './platform/auth/token.js'
import { loggerOptions } from './platform/logging.js'
import type { RunMode } from './services.js'

const USAGE = `usage: datagate <command>

  serve [all|gateway|catalog|authorization|masking|audit]   run the platform (default: all)
  migrate [up|down|status]                                  apply, undo the last, or list migrations
  token --sub S --unit U --roles a,b [--ttl 1h]             print a signed token for a service account
  keys status                                               data keys of encrypted fields: age, master key, destroyed
  keys rotate                                               re-wrap every data key under DATAGATE_MASTER_KEY (the
                                                            previous master in DATAGATE_MASTER_KEY_PREVIOUS); rerun to finish
  backup --out FILE                                         write an encrypted, integrity-checked backup of the database
                                                            (under the master key: DATAGATE_MASTER_KEY or _FILE)
  restore --in FILE [--check]                               restore a backup into an empty database; --check only
                                                            verifies the file (key, integrity, completeness)
  help                                                      this text

Configuration comes from the environment: see README.md.`

async function main (argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv
  switch (command) {
    case 'serve': return await serveCommand(rest)
    case 'migrate': return await migrateCommand(rest)
    case 'token': return tokenCommand(rest)
    case 'keys': return await keysCommand(rest)
    case 'backup': return await backupCommand(rest)
    case 'restore': return await restoreCommand(rest)
    case 'help': case '--help': case '-h':
      process.stdout.write(`${USAGE}\n`)
      return 0
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}\n`)
      return 2
  }
}

// Commands import the server and the database drivers when they need them: they are many modules,
// and `token` or `help` should not wait for them.
async function serveCommand (args: string[]): Promise<number> {
  const [{ RUN_MODES }, { serve }] = await Promise.all([import('./services.js'), import('./server.js')])
  const mode = (args[0] ?? 'all') as RunMode
  if (!RUN_MODES.includes(mode)) throw new UsageError(`unknown run mode ${mode}; one of ${RUN_MODES.join(', ')}`)
  const config = loadConfig()
  const { default: cluster } = await import('node:cluster')
  const { superviseWorkers, workerCount } = await import('./cluster.js')
  const workers = workerCount(config.WORKERS)
  if (workers > 1 && cluster.isPrimary) {
    // every worker runs this command and serves; the primary only supervises them
    return await superviseWorkers(workers, pino(loggerOptions(config.LOG_LEVEL) as pino.LoggerOptions)).done
  }
  await serve(config, mode)
  return -1 // keep running
}

async function migrateCommand (args: string[]): Promise<number> {
  const action = args[0] ?? 'up'
  if (!['up', 'down', 'status'].includes(action)) throw new UsageError(`unknown migrate action ${action}; one of up, down, status`)
  const config = loadConfig()
  const log = pino({ level: config.LOG_LEVEL })
  const [{ createDatabase }, { migrateDown, migrateToLatest, migrationStatus }] = await Promise.all([
    import('./db/create-db.js'), import('./db/migrator.js')
  ])
  const database = await createDatabase(config, log)
  try {
    if (action === 'status') {
      for (const m of await migrationStatus(database.db)) {
        process.stdout.write(`${m.executedAt ? `applied ${m.executedAt.toISOString()}` : 'pending                          '}  ${m.name}\n`)
      }
      return 0
    }
    const results = action === 'up' ? await migrateToLatest(database.db) : await migrateDown(database.db)
    for (const r of results) process.stdout.write(`${r.direction === 'Up' ? 'applied' : 'reverted'} ${r.migrationName}\n`)
    if (results.length === 0) process.stdout.write(action === 'up' ? 'schema is current\n' : 'nothing to revert\n')
    // the deployment's signing and masking keys are made here too, so that every service finds them in
    // a shared (read-only) data dir
    if (action === 'up') {
      loadSigningKey(config, { generate: true })
      const { loadMaskingKey } = await import('./masking/keys.js')
      loadMaskingKey(config, { generate: true })
      const { loadMasterKeys } = await import('./platform/masters.js')
      loadMasterKeys(config, { generate: true })
    }
    return 0
  } finally {
    await database.close()
  }
}

function tokenCommand (args: string[]): number {
  // every argument is checked before the key is touched (which may generate it), and each mistake
  // is a usage error (exit 2) saying what to fix
  const values = usage(() => parseArgs({
    args,
    options: { sub: { type: 'string' }, unit: { type: 'string' }, roles: { type: 'string' }, ttl: { type: 'string', default: '1h' } },
    strict: true
  }).values)
  if (!values.sub || !values.unit || !values.roles) throw new UsageError('token needs --sub, --unit and --roles')
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(values.unit)) throw new UsageError('--unit must be a unit code (letters, digits, _ and -)')
  const roles = usage(() => parseRoles(values.roles!))
  const ttl = usage(() => parseDuration(values.ttl ?? '1h'))
  const config = loadConfig()
  if (ttl < 1 || ttl > config.JWT_MAX_TTL_S) throw new UsageError(`--ttl must be 1s to ${config.JWT_MAX_TTL_S}s (JWT_MAX_TTL_S)`)
  const key = loadSigningKey(config, { generate: true })
  if (!key) throw new Error(`no signing key at ${keyFile(config.dataDir)}`)
  const issuer = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: config.JWT_MAX_TTL_S })
  process.stdout.write(`${issuer.sign({ sub: values.sub, unit: values.unit, roles }, ttl)}\n`)
  return 0
}

async function keysCommand (args: string[]): Promise<number> {
  const action = args[0]
  if (action !== 'status' && action !== 'rotate') throw new UsageError('keys needs an action: status or rotate')
  const config = loadConfig()
  const log = pino({ level: config.LOG_LEVEL })
  const [{ createDatabase }, { pendingMigrations }, { createKeyring }, { loadMasterKeys }] = await Promise.all([
    import('./db/create-db.js'), import('./db/migrator.js'), import('./catalog/encryption/keyring.js'), import('./platform/masters.js')
  ])
  const masters = loadMasterKeys(config, { generate: false })
  const database = await createDatabase(config, log)
  try {
    const pending = await pendingMigrations(database.db)
    if (pending.length > 0) throw new Error(`the database schema is not current (pending: ${pending.join(', ')}): run "datagate migrate" first`)
    const keyring = createKeyring(database.db, { masters, suite: config.DATAGATE_CIPHER })
    if (action === 'rotate') {
      const { rewrapped, remaining } = await keyring.rotate()
      process.stdout.write(`re-wrapped ${rewrapped} data key(s) under master key ${keyring.current.fingerprint}; ${remaining} left under another master key\n`)
      return remaining === 0 ? 0 : 1
    }
    await keyring.verify()
    process.stdout.write(`master key ${keyring.current.fingerprint}${masters[1] ? ` (previous ${masters[1].fingerprint})` : ''}\n`)
    for (const k of await keyring.status()) {
      const state = k.destroyedAt ? `destroyed ${k.destroyedAt.toISOString()}` : `master ${k.masterFingerprint}${k.masterFingerprint === keyring.current.fingerprint ? '' : ' (to re-wrap)'}`
      process.stdout.write(`${k.dataset}  ${k.suite}  age ${k.ageDays} d  ${state}\n`)
    }
    return 0
  } finally {
    await database.close()
  }
}

async function backupCommand (args: string[]): Promise<number> {
  const { out } = usage(() => parseArgs({ args, options: { out: { type: 'string' } }, strict: true }).values)
  if (!out) throw new UsageError('backup needs --out FILE')
  const config = loadConfig()
  const { backupCommand } = await import('./cli/backup/cli.js')
  return await backupCommand(config, out, (text) => process.stdout.write(text))
}

async function restoreCommand (args: string[]): Promise<number> {
  const values = usage(() => parseArgs({ args, options: { in: { type: 'string' }, check: { type: 'boolean', default: false } }, strict: true }).values)
  if (!values.in) throw new UsageError('restore needs --in FILE')
  const config = loadConfig()
  const { restoreCommand } = await import('./cli/backup/cli.js')
  return await restoreCommand(config, values.in, { check: values.check ?? false }, (text) => process.stdout.write(text))
}

/** Runs a parser of command-line input, turning its complaint into a usage error. */
function usage<T> (parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code
}, (err: unknown) => {
  if (err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`datagate: ${err.message}\n`)
    process.exitCode = 2
  } else {
    process.stderr.write(`datagate: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  }
})
