import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import pino from 'pino'
import { createDatabase, type DatabaseHandle } from '../../db/create-db.js'
import { loadSigningKey, loadVerificationKey, type VerificationKey } from '../../platform/auth/keys.js'
import type { Config } from '../../config.js'
import { ConfigError } from '../../platform/config-error.js'
import { loadMasterKey, type MasterKey } from '../../platform/master-key.js'
import { createBackup } from './dump.js'
import { BackupError } from './format.js'
import { inspectBackup, restoreBackup, type BackupInfo } from './restore.js'

/** `datagate backup` and `datagate restore`: main.ts parses the arguments, these do the work. */
type Write = (text: string) => void

/** A dump or a restore is one long transaction: the request-sized statement timeout does not apply. */
const longRunning = (config: Config): Config => ({ ...config, STATEMENT_TIMEOUT_MS: 600_000 })

/**
 * The master key, given explicitly: a backup is only as good as the key that opens it, so it is never
 * taken silently from the data dir it may be lost with (point DATAGATE_MASTER_KEY_FILE at the
 * generated file to use it).
 */
function givenMasterKey (config: Config, command: 'backup' | 'restore'): MasterKey {
  const key = loadMasterKey(config)
  if (!key) throw new ConfigError([`DATAGATE_MASTER_KEY: a ${command} needs the master key: set DATAGATE_MASTER_KEY or DATAGATE_MASTER_KEY_FILE`])
  return key
}

async function open (config: Config): Promise<DatabaseHandle> {
  return await createDatabase(longRunning(config), pino({ level: config.LOG_LEVEL }))
}

export async function backupCommand (config: Config, out: string, write: Write): Promise<number> {
  const masterKey = givenMasterKey(config, 'backup')
  if (!config.DATABASE_URL && !existsSync(join(config.dataDir, 'pglite'))) {
    throw new BackupError('BACKUP_NO_SCHEMA', `no embedded database in ${config.dataDir} (DATAGATE_DATA_DIR): nothing to back up`)
  }
  const database = await open(config)
  try {
    const s = await createBackup({ db: database.db, database: database.kind, out: resolve(out), masterKey, algorithm: config.DATAGATE_CIPHER })
    write(`backup ${s.file}: ${s.rows} rows of ${Object.keys(s.tables).length} tables, ${s.sequences} sequences, schema ${s.schema}, ` +
      `${s.algorithm} under master key ${masterKey.fingerprint}, ${s.bytes} bytes\n`)
    return 0
  } finally {
    await database.close()
  }
}

const describe = (info: BackupInfo) =>
  `backup ${info.file}: intact; made ${info.header.createdAt} from ${info.header.database}, schema ${info.schema}, ` +
  `${info.rows} rows of ${Object.keys(info.trailer.tables).length} tables, ${info.header.algorithm}\n`

/**
 * Restores into the configured (empty) database, then verifies the restored audit chain with the
 * platform key, when this process has it. `check` reads and authenticates the file only.
 */
export async function restoreCommand (config: Config, file: string, { check }: { check: boolean }, write: Write): Promise<number> {
  const masterKey = givenMasterKey(config, 'restore')
  const path = resolve(file)
  if (check) {
    const info = await inspectBackup(path, masterKey)
    write(describe(info))
    if (!info.restorable) write(`this version of Datagate cannot restore schema ${info.schema}: it does not know all of its migrations\n`)
    return info.restorable ? 0 : 1
  }
  let database: DatabaseHandle | undefined
  try {
    const restored = await restoreBackup({ file: path, masterKey, openDatabase: async () => (database = await open(config)).db })
    write(describe(restored))
    write(`restored ${restored.rows} rows into ${config.DATABASE_URL ? 'the PostgreSQL database' : config.dataDir}` +
      `${restored.migrated.length > 0 ? ` (migrated to ${restored.schema} first)` : ''}\n`)
    return await verifyAudit(config, database!, write)
  } finally {
    await database?.close()
  }
}

async function verifyAudit (config: Config, database: DatabaseHandle, write: Write): Promise<number> {
  let key: VerificationKey
  try {
    key = loadVerificationKey(config, loadSigningKey(config, { generate: false }))
  } catch {
    write('audit chain not verified here: no platform key (JWT_PRIVATE_KEY, JWT_PUBLIC_KEY or keys/ in the data dir); ' +
      'restore the key that signed its checkpoints, then GET /api/v1/audit/verify\n')
    return 0
  }
  const { verifyAuditChain } = await import('../../audit/index.js')
  const result = await verifyAuditChain(database.db, key)
  if (result.ok) {
    write(`audit chain verified: ${result.checked} events, ${result.checkpoints} signed checkpoints\n`)
    return 0
  }
  write(`audit chain does NOT verify at ${result.firstBroken}: ${result.reason ?? 'broken'} (is this the platform key that signed it?)\n`)
  return 1
}
