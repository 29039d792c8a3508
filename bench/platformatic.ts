import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { freePort, type BenchDatabase, type PlatformProcess } from './people.js'

/**
 * The peer of bench/data-read.ts: Platformatic DB (REST over PostgreSQL, a devDependency) in a process
 * of its own over the bench database, as a campus team would set it up to share the records table:
 * the REST API only (no GraphQL, no events), JWT authentication with Datagate's public key and the
 * same issuer and audience, and one authorization rule: the `consumer` role may read (`find`)
 * records, and nothing else; every other role and every other entity is refused. Its pool has as
 * many connections as the platform's (DATABASE_POOL_MAX of the bench).
 */
export async function spawnPlatformatic (bench: BenchDatabase, publicKeyPem: string): Promise<PlatformProcess> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'datagate-bench-plt-'))
  const config = join(dir, 'platformatic.db.json')
  writeFileSync(config, JSON.stringify({
    server: { hostname: '127.0.0.1', port, logger: { level: 'warn' } },
    db: { connectionString: bench.url, graphql: false, openapi: true, events: false, poolSize: bench.config.DATABASE_POOL_MAX },
    authorization: {
      jwt: { secret: { public: publicKeyPem }, verify: { allowedIss: [bench.config.JWT_ISSUER], allowedAud: [bench.config.JWT_AUDIENCE], requiredClaims: ['exp'] } },
      roleKey: 'roles',
      rules: [{ role: 'consumer', entity: 'record', find: true, save: false, delete: false }]
    },
    watch: false
  }))
  const cli = join(dirname(createRequire(import.meta.url).resolve('@platformatic/db/package.json')), 'db.mjs')
  const child = spawn(process.execPath, [cli, 'start', '-c', config], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PLT_DISABLE_TELEMETRY: 'true' } })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (i > 600 || child.exitCode !== null) throw new Error('Platformatic DB did not start')
    // up once it answers; without a token every route is refused
    if (await fetch(`${url}/records/?limit=1`).then(() => true, () => false)) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    process: child,
    pid: child.pid!,
    url,
    entry: `@platformatic/db ${(createRequire(import.meta.url)('@platformatic/db/package.json') as { version: string }).version}`,
    async stop () {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await once(child, 'exit')
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
