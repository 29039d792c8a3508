// HTTPS served by the process itself (R4.1): TLS_CERT_FILE and TLS_KEY_FILE, a self-signed
// certificate made here with the openssl command, and the ways a bad pair stops the start-up.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { freshDatabase } from '../helpers/database.js'
import { freePort, runCli, spawnCli } from '../helpers/spawn.js'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** A P-256 key and a one-day self-signed certificate for localhost and 127.0.0.1. */
function selfSigned (dir: string, name: string): { cert: string, key: string } {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  return { cert, key }
}

function tempDir (t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'datagate-tls-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/** GET over HTTPS trusting `ca` (or the system's roots only, when absent). */
async function get (url: string, ca?: Buffer): Promise<{ status: number, body: string, protocol: string | null }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { ...(ca ? { ca } : {}), agent: false, timeout: 2000 }, (res) => {
      const protocol = (res.socket as TLSSocket).getProtocol()
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode!, body, protocol }) })
    })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
    req.on('error', reject)
    req.end()
  })
}

t.test('serve all answers over HTTPS with the configured certificate', async (t) => {
  const dir = tempDir(t)
  const { cert, key } = selfSigned(dir, 'server')
  const ca = readFileSync(cert)
  const db = await freshDatabase()
  t.teardown(() => db.destroy())
  const port = await freePort()
  const child = spawnCli(t, ['serve', 'all'], {
    LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', DATAGATE_DATA_DIR: db.dataDir, ...(db.url ? { DATABASE_URL: db.url } : {}), TLS_CERT_FILE: cert, TLS_KEY_FILE: key
  })
  // ready: polled over HTTPS, generously (a first start builds keys and checks the schema)
  let live: Awaited<ReturnType<typeof get>> | undefined
  for (let i = 0; i < 300 && !live; i++) {
    if (child.hasExited()) break
    live = await get(`https://127.0.0.1:${port}/health/live`, ca).catch(() => undefined)
    if (!live) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(live, `the server came up over HTTPS: ${child.stderr()}`)
  t.equal(live?.status, 200)
  t.match(JSON.parse(live?.body ?? '{}'), { status: 'ok' })
  t.match(live?.protocol, /^TLSv1\.[23]$/, 'TLS 1.2 or newer')
  const byName = await get(`https://localhost:${port}/health/ready`, ca).catch((err: Error) => ({ status: 0, body: err.message, protocol: null }))
  t.equal(byName.status, 200, `the certificate's name checks out: ${byName.body}`)

  await t.rejects(get(`https://127.0.0.1:${port}/health/live`), /self[- ]signed/i, 'a client that does not trust the certificate refuses it')
  const plain = await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 'refused')
  t.not(plain, 200, 'plain HTTP gets no answer from the HTTPS port')
  t.notOk(child.hasExited(), 'still serving')
})

t.test('a bad certificate or key stops the start-up with a configuration error, before any database is made', async (t) => {
  const dir = tempDir(t)
  const one = selfSigned(dir, 'one')
  const two = selfSigned(dir, 'two')
  const dataDir = join(dir, 'data')
  const serve = (env: Record<string, string>) => runCli(t, ['serve', 'all'], { DATAGATE_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', ...env })
  const [certOnly, keyOnly, missing, mismatched, notPem] = await Promise.all([
    serve({ TLS_CERT_FILE: one.cert }),
    serve({ TLS_KEY_FILE: one.key }),
    serve({ TLS_CERT_FILE: join(dir, 'absent.crt'), TLS_KEY_FILE: one.key }),
    serve({ TLS_CERT_FILE: one.cert, TLS_KEY_FILE: two.key }),
    serve({ TLS_CERT_FILE: one.key, TLS_KEY_FILE: one.cert })
  ])
  t.match(certOnly, { code: 2, stderr: /TLS_KEY_FILE: required when TLS_CERT_FILE is set \(HTTPS needs both\)/ })
  t.match(keyOnly, { code: 2, stderr: /TLS_CERT_FILE: required when TLS_KEY_FILE is set/ })
  t.match(missing, { code: 2, stderr: /TLS_CERT_FILE: cannot read .*absent\.crt \(ENOENT\)/ })
  t.match(mismatched, { code: 2, stderr: /TLS_CERT_FILE, TLS_KEY_FILE: not a PEM certificate and its private key/ })
  t.match(notPem, { code: 2, stderr: /TLS_CERT_FILE, TLS_KEY_FILE: not a PEM certificate and its private key/ })
  for (const run of [certOnly, keyOnly, missing, mismatched, notPem]) t.notMatch(run.stderr, /BEGIN|PRIVATE/, 'no key material in the message')
  t.notOk(existsSync(join(dataDir, 'pglite')), 'no embedded database was created')
})
