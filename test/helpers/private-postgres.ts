// A PostgreSQL server of one test file's own (initdb into a temporary directory, `postgres` on a
// free port), for faults that must not touch the shared server other tests use at the same time:
// stopping it, crashing it, starting it again. As root, the server runs as the `postgres` user
// (PostgreSQL refuses to run as root).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createDatabase } from '../../src/db/create-db.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import type { TestDatabase } from './database.js'
import { freePort } from './spawn.js'

export interface PrivatePostgres {
  port: number
  /** a URL of this server (user postgres, no password) */
  url (database?: string): string
  /** true while the server process runs */
  running (): boolean
  /** stops the server: `fast` is SIGINT (pg_ctl stop -m fast), `immediate` SIGQUIT (a crash: recovery at the next start) */
  stop (mode?: 'fast' | 'immediate'): Promise<void>
  /** starts it again on the same directory and port; resolves once it accepts connections */
  start (): Promise<void>
  /** a fresh, migrated database on this server, opened with these settings */
  database (settings?: { poolMax?: number, statementTimeoutMs?: number }): Promise<TestDatabase>
  /** stops the server and removes its directory */
  destroy (): Promise<void>
}

/** Where initdb and postgres are: POSTGRES_BINDIR, else the newest /usr/lib/postgresql/N/bin, else pg_config. */
function binDir (): string | null {
  const candidates: string[] = []
  if (process.env.POSTGRES_BINDIR) candidates.push(process.env.POSTGRES_BINDIR)
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    for (const v of readdirSync(debian).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(b) - Number(a))) candidates.push(join(debian, v, 'bin'))
  }
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
  } catch {}
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) ?? null
}

/** As root: the uid and gid of the `postgres` user, which runs the server. */
function serverUser (): { uid: number, gid: number } | null | string {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    return { uid, gid }
  } catch {
    return 'running as root, and there is no postgres user to run the server as'
  }
}

const servers = new Set<ChildProcess>()
let hooked = false
/** No server outlives the test process, whatever ends it. */
function hookExit () {
  if (hooked) return
  hooked = true
  process.once('exit', () => { for (const s of servers) s.kill('SIGQUIT') })
}

async function accepting (url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('select 1')
      await client.end()
      return
    } catch (err) {
      last = (err as Error).message
      await client.end().catch(() => {})
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the private PostgreSQL did not accept connections within ${timeoutMs} ms: ${last}`)
}

/**
 * initdb and start a private server. Resolves the reason instead when this machine cannot (no
 * PostgreSQL binaries, no user to run them as, initdb failing): the test skips with it.
 */
export async function startPrivatePostgres (): Promise<PrivatePostgres | string> {
  const bin = binDir()
  if (!bin) return 'no PostgreSQL server binaries (initdb, postgres) on this machine; set POSTGRES_BINDIR'
  const user = serverUser()
  if (typeof user === 'string') return user
  const dir = mkdtempSync(join(tmpdir(), 'datagate-pg-'))
  const data = join(dir, 'data')
  const as = user ?? {}
  try {
    if (user) chownSync(dir, user.uid, user.gid)
    execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C'], { ...as, stdio: 'pipe', timeout: 60_000 })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    const e = err as { stderr?: Buffer, message: string }
    return `initdb failed here: ${(e.stderr?.toString() || e.message).trim().split('\n').slice(-2).join(' ')}`
  }
  const port = await freePort()
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`
  let server: ChildProcess | null = null
  let exited: Promise<void> = Promise.resolve()
  let log = ''
  hookExit()

  async function start () {
    const child = spawn(join(bin!, 'postgres'), [
      '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50'
    ], { ...as, stdio: ['ignore', 'ignore', 'pipe'] })
    servers.add(child)
    server = child
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { log = (log + chunk).slice(-20_000) })
    exited = new Promise((resolve) => { child.once('exit', () => { servers.delete(child); if (server === child) server = null; resolve() }) })
    try {
      await accepting(url(), 30_000)
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${log.slice(-2000)}`)
    }
  }

  async function stop (mode: 'fast' | 'immediate' = 'fast') {
    if (!server) return
    server.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT')
    await exited
  }

  try {
    await start()
  } catch (err) {
    await stop('immediate')
    rmSync(dir, { recursive: true, force: true })
    return `the private PostgreSQL did not start: ${(err as Error).message.split('\n')[0]}`
  }

  let template: Promise<void> | null = null
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: url() })
    client.on('error', () => {})
    await client.connect()
    try { await client.query(text) } finally { await client.end() }
  }
  let n = 0
  return {
    port,
    url,
    running: () => server !== null,
    stop,
    start,
    async database ({ poolMax = 5, statementTimeoutMs = 5000 } = {}) {
      template ??= (async () => {
        await admin('create database datagate_tpl')
        const h = await createDatabase({ DATABASE_URL: url('datagate_tpl'), DATABASE_POOL_MAX: 2, DATABASE_SSL: 'off', STATEMENT_TIMEOUT_MS: 30_000, dataDir: tmpdir() }, console)
        await migrateToLatest(h.db)
        await h.close()
      })()
      await template
      const name = `datagate_${++n}`
      await admin(`create database ${name} template datagate_tpl`)
      const dataDir = mkdtempSync(join(tmpdir(), 'datagate-test-'))
      const silent = { warn () {}, error () {} }
      return {
        url: url(name),
        dataDir,
        open: async () => await createDatabase({ DATABASE_URL: url(name), DATABASE_POOL_MAX: poolMax, DATABASE_SSL: 'off', STATEMENT_TIMEOUT_MS: statementTimeoutMs, dataDir }, silent),
        async destroy () {
          if (server) await admin(`drop database if exists ${name} with (force)`).catch(() => {})
          rmSync(dataDir, { recursive: true, force: true })
        }
      }
    },
    async destroy () {
      await stop('fast')
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
