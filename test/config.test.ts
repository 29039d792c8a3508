import { readFile } from 'node:fs/promises'
import t from 'tap'
import { ConfigError, EnvSchema, loadConfig } from '../src/config.js'

t.test('defaults make a working all-in-one configuration', async (t) => {
  const config = loadConfig({})
  t.match(config, { PORT: 3000, HOST: '127.0.0.1', DATAGATE_DATA_DIR: './data', LOG_LEVEL: 'info', DOCS_ENABLED: true, JWT_ALGORITHM: 'EdDSA' })
  t.equal(config.DATABASE_URL, undefined, 'PGlite unless DATABASE_URL is set')
  t.ok(config.dataDir.endsWith('/data'))
})

t.test('values are converted to their types', async (t) => {
  const config = loadConfig({ PORT: '8080', TRUST_PROXY: 'true', DOCS_ENABLED: 'false', DATABASE_URL: 'postgresql://u@db:5432/dg' })
  t.equal(config.PORT, 8080)
  t.equal(config.TRUST_PROXY, true)
  t.equal(config.DOCS_ENABLED, false)
  t.equal(config.DATABASE_URL, 'postgresql://u@db:5432/dg')
})

t.test('a bad value is refused naming the variable', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'abc' }, /PORT: .*integer.*"abc"/],
    [{ PORT: '70000' }, /PORT/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: must be one of fatal, error/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ JWT_ALGORITHM: 'HS256' }, /JWT_ALGORITHM: must be one of EdDSA, ES256/],
    [{ JWKS_URL: 'https://idp.example.edu.cn/jwks.json' }, /JWKS_ISSUER: required when JWKS_URL is set/],
    [{ CATALOG_URL: 'catalog:3000' }, /CATALOG_URL/],
    [{ RATE_LIMIT_MAX: '0' }, /RATE_LIMIT_MAX/],
    [{ CAMPUS_HOLIDAYS: '2026-10-01;2026-10-02' }, /CAMPUS_HOLIDAYS/],
    [{ CAMPUS_WORKDAYS: '10 October' }, /CAMPUS_WORKDAYS/],
    [{ TLS_CERT_FILE: '/etc/datagate/tls.crt' }, /TLS_KEY_FILE: required when TLS_CERT_FILE is set/],
    [{ TLS_KEY_FILE: '/etc/datagate/tls.key' }, /TLS_CERT_FILE: required when TLS_KEY_FILE is set/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), message, JSON.stringify(env))
  }
  const err = t.throws(() => loadConfig({ PORT: 'x', BODY_LIMIT_BYTES: 'y' })) as ConfigError
  t.equal(err.problems.length, 2, 'every bad variable is listed at once')
})

t.test('HTTPS takes a certificate and its key together', async (t) => {
  const config = loadConfig({ TLS_CERT_FILE: '/etc/datagate/tls.crt', TLS_KEY_FILE: '/etc/datagate/tls.key' })
  t.match(config, { TLS_CERT_FILE: '/etc/datagate/tls.crt', TLS_KEY_FILE: '/etc/datagate/tls.key' })
  t.match(loadConfig({}), { TLS_CERT_FILE: undefined, TLS_KEY_FILE: undefined }, 'plain HTTP by default')
})

t.test('secret values are never echoed in the error', async (t) => {
  const err = t.throws(() => loadConfig({ DATABASE_URL: 'mysql://admin:hunter2@db/x' })) as Error
  t.notMatch(err.message, /hunter2/)
})

t.test('the README documents every variable', async (t) => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  for (const name of Object.keys(EnvSchema.properties)) {
    t.match(readme, new RegExp(`\\| \`${name}\` \\|`), `${name} is in the configuration table`)
  }
})
