// What encryption at rest costs: ingest and reads of a dataset whose 4 of 12 fields are sealed
// (sensitive PI types: sealed at ingest with blind indexes, opened on every read) against the same
// dataset with those fields in the clear, in the same process and run, on PostgreSQL.
//
//   npx tsx bench/encryption.ts
//   BENCH_DATABASE_URL=postgres://… BENCH_CIPHER=sm4 npx tsx bench/encryption.ts
import autocannon from 'autocannon'
import { buildApp } from '../src/app.js'
import type { StoredField } from '../src/db/database.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'
import { benchDatabase, field, insertBenchDataset, insertBenchGrant, insertUnits } from './people.js'

const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const batches = Number(process.env.BENCH_BATCHES ?? 10)
const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20)

const bench = await benchDatabase({ DATAGATE_CIPHER: process.env.BENCH_CIPHER ?? 'aes-256-gcm' })
const { config, database } = bench
const db = database.db

const sensitive = (name: string, piType: string) => (sealed: boolean) => field(name, 'string', sealed ? { piType, sensitivity: 4 } : {})
const shape = (sealed: boolean): StoredField[] => [
  field('student_id', 'string', { required: true }),
  field('name', 'string'), field('college', 'string'), field('major', 'string'), field('year', 'integer'), field('gpa', 'number'),
  field('active', 'boolean'), field('enrolled_on', 'date'),
  sensitive('diagnosis', 'health')(sealed), sensitive('bank_card', 'bank_card')(sealed), sensitive('religion', 'religion')(sealed), sensitive('location', 'location')(sealed)
]
await insertUnits(bench, ['CS', 'MATH'])
if (process.env.BENCH_NO_GIN) await db.schema.dropIndex('records_blind_idx').execute()
for (const [code, sealed] of [['plain', false], ['sealed', true]] as const) {
  await insertBenchDataset(bench, { code, fields: shape(sealed), holds_pi: sealed, sensitive_pi: sealed })
}
const key = loadSigningKey(config, { generate: true })!
const app = await buildApp({ config, database, mode: 'all', keys: { signing: key, verification: key }, logger: false, closeDatabase: false })
await app.listen({ port: 0, host: '127.0.0.1' })
const issuer = createTokenIssuer(key, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
const steward = `Bearer ${issuer.sign({ sub: 'bench', unit: 'CS', roles: ['steward'] }, 3600)}`
const reader = `Bearer ${issuer.sign({ sub: 'bench-reader', unit: 'MATH', roles: ['consumer'] }, 3600)}`

let next = 0
const record = () => {
  const i = next++
  return {
    student_id: String(i).padStart(10, '0'),
    name: `学生${i}`,
    college: 'CS',
    major: `major ${i % 40}`,
    year: 2020 + (i % 6),
    gpa: (i % 50) / 10,
    active: i % 2 === 0,
    enrolled_on: '2024-09-01',
    diagnosis: i % 7 === 0 ? 'asthma' : 'none',
    bank_card: `6222${String(i).padStart(15, '0')}`,
    religion: 'none',
    location: `北京市海淀区学院路${i % 300}号`
  }
}
const ingestMs: Record<string, number> = { plain: 0, sealed: 0 }
let rows = 0
for (let round = 0; round < rounds; round++) {
  for (const code of round % 2 ? ['sealed', 'plain'] : ['plain', 'sealed']) {
    for (let b = 0; b < batches; b++) {
      const body = JSON.stringify(Array.from({ length: 1000 }, record))
      const t0 = performance.now()
      const res = await app.inject({ method: 'PUT', url: `/api/v1/datasets/${code}/records`, headers: { authorization: steward, 'content-type': 'application/json' }, payload: body })
      if (res.statusCode !== 200) throw new Error(`${code}: ${res.statusCode} ${res.body}`)
      if (round > 0) ingestMs[code]! += performance.now() - t0 // round 0 warms up
    }
  }
  if (round > 0) rows += batches * 1000
}

for (const code of ['plain', 'sealed']) {
  await insertBenchGrant(bench, { dataset: code, fields: shape(false).map((f) => f.name), accessModes: ['api'], masked: false })
}
const port = (app.server.address() as { port: number }).port
async function reads (code: string) {
  const opts = { url: `http://127.0.0.1:${port}/api/v1/data/${code}/records?limit=100`, connections, headers: { authorization: reader } }
  await autocannon({ ...opts, duration: 2 })
  const result = await autocannon({ ...opts, duration: seconds })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${code}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.average
}
const plainReads = await reads('plain')
const sealedReads = await reads('sealed')
const plainAgain = await reads('plain')

const perSec = (ms: number) => rows / (ms / 1000)
console.log(`PostgreSQL; ${config.DATAGATE_CIPHER}; 12 fields, 4 sealed; ingest ${rows} rows per dataset in 1,000-row batches; reads of 100-row pages, ${connections} connections, ${seconds} s`)
console.log(`ingest rows/s: clear ${perSec(ingestMs.plain!).toFixed(0)}, sealed ${perSec(ingestMs.sealed!).toFixed(0)}; ratio ${(ingestMs.plain! / ingestMs.sealed!).toFixed(2)}`)
console.log(`read req/s: clear ${plainReads.toFixed(0)} (again ${plainAgain.toFixed(0)}), sealed ${sealedReads.toFixed(0)}; ratio ${(sealedReads / ((plainReads + plainAgain) / 2)).toFixed(2)}`)

await app.close()
await bench.drop()
