// Writes openapi/openapi.json from the route schemas (`write`), or fails when the committed file is
// stale (`check`). No database is touched: the app is built over Kysely's dummy driver.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { DatabaseHandle } from '../src/db/create-db.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { openapiFile } from '../src/gateway/docs.js'

export async function generateOpenapi (): Promise<string> {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  // keys of its own: generating the document writes nothing to a data dir
  const config = loadConfig({ JWT_PRIVATE_KEY: pem, LOG_LEVEL: 'silent', DATAGATE_MASTER_KEY: randomBytes(32).toString('hex'), MASKING_KEY: randomBytes(32).toString('base64') })
  const db = new Kysely<any>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler()
    }
  })
  const database: DatabaseHandle = { db, kind: 'postgres', ping: async () => {}, close: async () => { await db.destroy() } }
  const key = loadSigningKey(config, { generate: false })!
  const app = await buildApp({ config, database, mode: 'all', keys: { signing: key, verification: key }, logger: false })
  await app.ready()
  const document = JSON.stringify(app.swagger(), null, 2) + '\n'
  await app.close()
  return document
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const action = process.argv[2] ?? 'write'
  const generated = await generateOpenapi()
  if (action === 'write') {
    await writeFile(openapiFile, generated)
    process.stdout.write(`wrote ${fileURLToPath(openapiFile)}\n`)
  } else {
    const committed = await readFile(openapiFile, 'utf8').catch(() => '')
    if (committed !== generated) {
      process.stderr.write('openapi/openapi.json is stale: run "npm run openapi" and commit the result\n')
      process.exit(1)
    }
    process.stdout.write('openapi/openapi.json is current\n')
  }
}
