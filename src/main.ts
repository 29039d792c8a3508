import { parseArgs } from 'node:util'
import pino from 'pino'
import { ConfigError, loadConfig } from './config.js'
import { keyFile, loadSigningKey } from './platform/auth/keys.js'
import { parseRoles } from './platform/auth/roles.js'
import { createTokenIssuer, parseDuration } from './platform/auth/token.js'
import type { RunMode } from './services.js'

const USAGE = `usage: datagate <command>

  serve [all|gateway|catalog|authorization|masking|audit]   run the platform (default: all)
  migrate [up|down|status]                                  apply, undo the last, or list migrations
  token --sub S --unit U --roles a,b [--ttl 1h]             print a signed token for a service account
  help                                                      this text

Configuration comes from the environment: see README.md.`

async function main (argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv
  switch (command) {
    case 'serve': return await serveCommand(rest)
    case 'migrate': return await migrateCommand(rest)
    case 'token': return tokenCommand(rest)
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
