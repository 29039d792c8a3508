// A 1,000,000-row export against a bare export of the same rows: POST /api/v1/data/people/exports
// (grant and quota check, keyset batches, masking of 6 of 12 fields, watermark marks and decoy rows,
// the sealed file, progress written per batch) until it is `done`, then the download; the baseline
// reads the same rows in the same keyset batches through `pg` and writes them as plain CSV to a file,
// unmasked, unsealed, unmarked, in this process. Same run, same PostgreSQL. The platform runs as its
// own process (`datagate serve all` on the bench database), so that its memory is its own: its
// resident set is sampled every 20 ms during the export and the download, and its high-water mark
// (VmHWM, start-up included) read at the end.
//
//   npm run build && npx tsx bench/export.ts      # 1,000,000 rows; the platform runs from dist/ when built
//   BENCH_ROWS=100000 npx tsx bench/export.ts
import { once } from 'node:events'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { BATCH_ROWS } from '../src/gateway/exports/job.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'
import { benchDatabase, memoryOf, PEOPLE_FIELDS, seedPeople, spawnPlatform } from './people.js'

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000)
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)
const exportEnv = { EXPORT_MAX_ROWS: String(rows), EXPORT_DECOY_EVERY: '5000' }

const bench = await benchDatabase(exportEnv)
await seedPeople(bench, rows, ['api', 'export'])

/** Runs `work` while sampling the resident set of `pid`; returns its duration and the peak seen. */
async function measured (pid: number, work: () => Promise<void>): Promise<{ seconds: number, peakRss: number }> {
  let peakRss = memoryOf(pid).rss
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, memoryOf(pid).rss) }, 20)
  const started = process.hrtime.bigint()
  try {
    await work()
  } finally {
    clearInterval(sampler)
  }
  peakRss = Math.max(peakRss, memoryOf(pid).rss)
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRss }
}

// the baseline, in this process: keyset batches of the same size through pg, the stored values as CSV lines
const scratch = mkdtempSync(join(tmpdir(), 'datagate-bench-export-'))
const names = PEOPLE_FIELDS.map((f) => f.name)
const quote = (v: unknown) => { const s = v === null || v === undefined ? '' : String(v); return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s }
const bare = await measured(process.pid, async () => {
  const pool = new pg.Pool({ connectionString: bench.url, max: 2 })
  const out = createWriteStream(join(scratch, 'bare.csv'))
  out.write(names.join(',') + '\n')
  let after = ''
  for (;;) {
    const { rows: batch } = await pool.query<{ record_key: string, data: Record<string, unknown> }>(
      'select record_key, data from records where dataset_code = $1 and record_key > $2 order by record_key limit $3', ['people', after, BATCH_ROWS])
    if (batch.length === 0) break
    const text = batch.map((r) => names.map((n) => quote(r.data[n])).join(',')).join('\n') + '\n'
    if (!out.write(text)) await once(out, 'drain')
    after = batch[batch.length - 1]!.record_key
    if (batch.length < BATCH_ROWS) break
  }
  out.end()
  await once(out, 'finish')
  await pool.end()
})

// the platform in a process of its own, over the same database and data dir (its keys)
const key = loadSigningKey(bench.config, { generate: true })!
const token = createTokenIssuer(key, { issuer: bench.config.JWT_ISSUER, audience: bench.config.JWT_AUDIENCE, maxTtlSeconds: 3600 })
  .sign({ sub: 'bench-reader', unit: 'MATH', roles: ['consumer'] }, 3600)
// BENCH_PLATFORM_NODE_ARGS: V8 flags for the platform's process, e.g. --max-old-space-size=128
const platform = await spawnPlatform(bench, exportEnv, (process.env.BENCH_PLATFORM_NODE_ARGS ?? '').split(' ').filter(Boolean))
const base = `${platform.url}/api/v1`
const idle = memoryOf(platform.pid)
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

let exportId = ''
let written = 0
let bytes = 0
const datagate = await measured(platform.pid, async () => {
  const asked = await fetch(`${base}/data/people/exports`, { method: 'POST', headers, body: JSON.stringify({}) })
  if (asked.status !== 202) throw new Error(`export: ${asked.status} ${await asked.text()}`)
  exportId = ((await asked.json()) as { id: string }).id
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const state = (await (await fetch(`${base}/exports/${exportId}`, { headers })).json()) as { status: string, rowsWritten: number, bytes: number | null, error: string | null }
    if (state.status === 'failed') throw new Error(`export failed: ${state.error}`)
    if (state.status === 'done') { written = state.rowsWritten; bytes = state.bytes ?? 0; break }
  }
})
let downloaded = 0
const download = await measured(platform.pid, async () => {
  const res = await fetch(`${base}/exports/${exportId}/file`, { headers })
  if (res.status !== 200 || !res.body) throw new Error(`download: ${res.status}`)
  for await (const chunk of res.body) downloaded += (chunk as Uint8Array).length
})
const end = memoryOf(platform.pid)

console.log(`PostgreSQL; export of ${rows} rows of 12 fields (6 masked); batches of ${BATCH_ROWS}; platform from ${platform.entry}`)
console.log(`baseline  (pg keyset batches → plain CSV file): ${(rows / bare.seconds).toFixed(0)} rows/s, ${bare.seconds.toFixed(1)} s, peak RSS of the bench process ${mb(bare.peakRss)} MB`)
console.log(`datagate  POST …/exports until done:          ${(rows / datagate.seconds).toFixed(0)} rows/s, ${datagate.seconds.toFixed(1)} s, ` +
  `${written} rows, ${mb(bytes)} MB file; platform RSS ${mb(idle.rss)} MB idle, peak ${mb(datagate.peakRss)} MB`)
console.log(`datagate  GET …/file (download):               ${download.seconds.toFixed(1)} s, ${mb(downloaded)} MB of CSV, platform peak RSS ${mb(download.peakRss)} MB`)
console.log(`throughput ratio ${(bare.seconds / datagate.seconds).toFixed(2)}; platform process high-water mark (VmHWM, start-up included) ${mb(end.hwm)} MB`)

await platform.stop()
await bench.drop()
rmSync(scratch, { recursive: true, force: true })
