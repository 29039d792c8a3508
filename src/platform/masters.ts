import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config.js'
import { loadMasterKey, masterKeyOf, parseMasterKey, type MasterKey } from './master-key.js'

type MasterConfig = Pick<Config, 'DATAGATE_MASTER_KEY' | 'DATAGATE_MASTER_KEY_FILE' | 'DATAGATE_MASTER_KEY_PREVIOUS' | 'dataDir'>

export const masterKeyFile = (dataDir: string) => join(dataDir, 'keys', 'master-key')

/** The key of `keys/master-key` in the data dir, made on first use when allowed; null when absent and not allowed. */
function dataDirKey (dataDir: string, generate: boolean): MasterKey | null {
  const file = masterKeyFile(dataDir)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    if (!generate) return null
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 })
    try {
      text = randomBytes(32).toString('hex')
      writeFileSync(file, `${text}\n`, { mode: 0o600, flag: 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      text = readFileSync(file, 'utf8') // another process made it first
    }
  }
  return masterKeyOf(parseMasterKey(text, file), file)
}

/**
 * The master key of the deployment: DATAGATE_MASTER_KEY, else the file named by
 * DATAGATE_MASTER_KEY_FILE (see platform/master-key.ts), else `keys/master-key` in the data dir,
 * generated on first use when allowed (a single-machine default: give the key from outside the data
 * dir in production).
 */
export function loadDeploymentMasterKey (config: MasterConfig, { generate }: { generate: boolean }): MasterKey {
  const key = loadMasterKey(config) ?? dataDirKey(config.dataDir, generate)
  if (!key) throw new Error(`no master key: set DATAGATE_MASTER_KEY or DATAGATE_MASTER_KEY_FILE, or run "datagate migrate" with DATAGATE_DATA_DIR=${config.dataDir} first`)
  return key
}

/** The master keys of the process, current first; during a rotation DATAGATE_MASTER_KEY_PREVIOUS second. */
export function loadMasterKeys (config: MasterConfig, options: { generate: boolean }): MasterKey[] {
  const keys = [loadDeploymentMasterKey(config, options)]
  if (config.DATAGATE_MASTER_KEY_PREVIOUS) {
    const previous = masterKeyOf(parseMasterKey(config.DATAGATE_MASTER_KEY_PREVIOUS, 'DATAGATE_MASTER_KEY_PREVIOUS'), 'DATAGATE_MASTER_KEY_PREVIOUS')
    if (previous.fingerprint !== keys[0]!.fingerprint) keys.push(previous)
  }
  return keys
}
