// Child processes of the real CLI (`node bin/datagate.js …`) for tests of serving, shutdown, the
// CLI and the distributed topology: hermetic environment, free ports, readiness waits, captured
// output, and no child outliving its test.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { EnvSchema } from '../../src/config.js'

/** Whether this runs from the test build (`npm test` compiles the tree into .test-build/). */
const compiled = import.meta.url.endsWith('.js')
/** The repository's root; the test build sits one level below it. */
export const repoRoot = join(import.meta.dirname, compiled ? '../../..' : '../..')
/**
 * The CLI: `bin/datagate.js` from source (it loads src/ through tsx), or, in the test build, the
 * compiled `src/main.js` that bin/datagate.js would load, without a loader to pay for.
 */
export const cli = compiled ? join(import.meta.dirname, '../../src/main.js') : join(repoRoot, 'bin/datagate.js')

/** The slice of a tap test the helpers need. */
export interface TeardownContext {
  teardown (fn: () => unknown): void
}

/** A port nobody listens on right now: bind port 0, read what the kernel gave, let it go. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') return reject(new Error('no port'))
      server.close(() => { resolve(address.port) })
    })
  })
}

/**
 * The child's environment: this process's own, minus every variable Datagate reads (so that a
 * developer's DATABASE_URL or LOG_LEVEL never leaks into a test), plus what the test gives.
 */
export function childEnv (env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(EnvSchema.properties)) delete base[name]
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete base[name]
    else base[name] = value
  }
  return base
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface Child {
  process: ChildProcess
  pid: number
  /** everything written so far */
  stdout (): string
  stderr (): string
  /** resolves when the process has exited */
  exited: Promise<Exit>
  /** true once the process has exited */
  hasExited (): boolean
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit */
  stop (graceMs?: number): Promise<Exit>
}

const OUTPUT_LIMIT = 1 << 20

/**
 * Children still running. A teardown stops each; should the test process end without its teardowns
 * (a tap timeout, a crash), these hooks still kill them, so no server outlives the run on its port.
 */
const running = new Set<ChildProcess>()
let hooked = false
function killRunning () {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}
function hookProcessEnd () {
  if (hooked) return
  hooked = true
  process.once('exit', killRunning)
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killRunning()
      process.kill(process.pid, signal) // then end as the signal means to
    })
  }
}

/** Starts `datagate <args>`; the test's teardown kills it if it still runs. */
export function spawnCli (t: TeardownContext, args: string[], env: Record<string, string | undefined> = {}): Child {
  hookProcessEnd()
  const child = spawn(process.execPath, [cli, ...args], { cwd: repoRoot, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { if (out.length < OUTPUT_LIMIT) out += chunk })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { if (err.length < OUTPUT_LIMIT) err += chunk })
  let done = false
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject)
    // 'close' rather than 'exit': by then stdout and stderr have been read to their end
    child.once('close', (code, signal) => { done = true; running.delete(child); resolve({ code, signal }) })
  })
  exited.catch(() => {})
  const handle: Child = {
    process: child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    hasExited: () => done,
    async stop (graceMs = 3000) {
      if (done) return await exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => { if (!done) child.kill('SIGKILL') }, graceMs)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    }
  }
  t.teardown(async () => { await handle.stop() })
  return handle
}

export interface RunResult extends Exit { stdout: string, stderr: string }

/** Runs a CLI command to its end (killed after `timeoutMs`). */
export async function runCli (t: TeardownContext, args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<RunResult> {
  const child = spawnCli(t, args, env)
  const timer = setTimeout(() => { child.process.kill('SIGKILL') }, timeoutMs)
  try {
    const exit = await child.exited
    return { ...exit, stdout: child.stdout(), stderr: child.stderr() }
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `url` until it answers 200; fails early, with the child's stderr, if the child exits. */
export async function waitForReady (url: string, child?: Child, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (child?.hasExited()) {
      const { code, signal } = await child.exited
      throw new Error(`the process exited (${code ?? signal}) before ${url} was ready:\n${child.stderr()}${child.stdout().slice(-2000)}`)
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) return
      last = `${res.status} ${await res.text()}`
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last})${child ? `\n${child.stderr()}` : ''}`)
}

export interface Server extends Child {
  /** http://127.0.0.1:<port> */
  url: string
  port: number
  /** ms from spawn to the first 200 of /health/ready */
  readyAfterMs: number
}

/** `datagate serve <mode>` on loopback (a free port unless given), resolved once /health/ready answers 200. */
export async function startServer (t: TeardownContext, mode: string, env: Record<string, string | undefined>, { port, timeoutMs = 90_000 }: { port?: number, timeoutMs?: number } = {}): Promise<Server> {
  port ??= await freePort()
  const started = Date.now()
  const child = spawnCli(t, ['serve', mode], { LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' })
  const url = `http://127.0.0.1:${port}`
  await waitForReady(`${url}/health/ready`, child, timeoutMs)
  return Object.assign(child, { url, port, readyAfterMs: Date.now() - started })
}
