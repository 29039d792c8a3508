import { parseArgs } from 'node:util'
import pino from 'pino'
import { ConfigError, loadConfig } from './config.js'
import { createDatabase } from './db/create-db.js'
import { migrateDown, migrateToLatest, migrationStatus } from './db/migrator.js'
import { keyFile, loadSigningKey } from './platform/auth/keys.js'
import { parseRoles } from './platform/auth/roles.js'
import { createTokenIssuer, parseDuration } from './platform/auth/token.js'
import { serve } from './server.js'
import { RUN_MODES, type RunMode } from './services.js'

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

async function serveCommand (args: string[]): Promise<number> {
  const mode = (args[0] ?? 'all') as RunMode
  if (!RUN_MODES.includes(mode)) throw new UsageError(`unknown run mode ${mode}; one of ${RUN_MODES.join(', ')}`)
  await serve(loadConfig(), mode)
  return -1 // keep running
}

async function migrateCommand (args: string[]): Promise<number> {
  const action = args[0] ?? 'up'
  if (!['up', 'down', 'status'].includes(action)) throw new UsageError(`unknown migrate action ${action}; one of up, down, status`)
  const config = loadConfig()
  const log = pino({ level: config.LOG_LEVEL })
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
    // the deployment's signing key is made here too, so that every service finds it in a shared data dir
    if (action === 'up') loadSigningKey(config, { generate: true })
    return 0
  } finally {
    await database.close()
  }
}

function tokenCommand (args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { sub: { type: 'string' }, unit: { type: 'string' }, roles: { type: 'string' }, ttl: { type: 'string', default: '1h' } },
    strict: true
  })
  if (!values.sub || !values.unit || !values.roles) throw new UsageError('token needs --sub, --unit and --roles')
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(values.unit)) throw new UsageError('--unit must be a unit code (letters, digits, _ and -)')
  const config = loadConfig()
  const key = loadSigningKey(config, { generate: true })
  if (!key) throw new Error(`no signing key at ${keyFile(config.dataDir)}`)
  const issuer = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: config.JWT_MAX_TTL_S })
  let roles
  try {
    roles = parseRoles(values.roles)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  process.stdout.write(`${issuer.sign({ sub: values.sub, unit: values.unit, roles }, parseDuration(values.ttl ?? '1h'))}\n`)
  return 0
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
