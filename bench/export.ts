// A 1,000,000-row export against a bare export of the same rows: POST /api/v1/data/people/exports
// (grant and quota check, keyset batches, masking of 6 of 12 fields, watermark marks and decoy rows,
// the sealed file, progress written per batch) until it is `done`, then the download; the baseline
// reads the same rows in the same keyset batches through `pg` and writes them as plain CSV to a file,
// unmasked, unsealed, unmarked. Both in the same process and run, on PostgreSQL. The process's
// resident memory is sampled every 20 ms during each, and its peak reported.
//
//   npx tsx bench/export.ts                       # 1,000,000 rows
//   BENCH_ROWS=100000 npx tsx bench/export.ts
import { once } from 'node:events'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { BATCH_ROWS } from '../src/gateway/exports/job.js'
import { benchDatabase, PEOPLE_FIELDS, seedPeople, startPlatform } from './people.js'

const rows = Number(process.env.BENCH_ROWS ?? 1_000_000)
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)

const bench = await benchDatabase({ EXPORT_MAX_ROWS: String(rows), EXPORT_DECOY_EVERY: '5000' })
await seedPeople(bench, rows, ['api', 'export'])
const { app, port, token } = await startPlatform(bench)
const base = `http://127.0.0.1:${port}/api/v1`
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

/** Runs `work` while sampling the resident set size; returns its duration and the peak RSS seen. */
async function measured (work: () => Promise<void>): Promise<{ seconds: number, peakRss: number }> {
  global.gc?.()
  let peakRss = process.memoryUsage.rss()
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 20)
  const started = process.hrtime.bigint()
  try {
    await work()
  } finally {
    clearInterval(sampler)
  }
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRss }
}

// the baseline: keyset batches of the same size through pg, the stored values written as CSV lines
const scratch = mkdtempSync(join(tmpdir(), 'datagate-bench-export-'))
const names = PEOPLE_FIELDS.map((f) => f.name)
const quote = (v: unknown) => { const s = v === null || v === undefined ? '' : String(v); return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s }
const bare = await measured(async () => {
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

let exportId = ''
let written = 0
let bytes = 0
const datagate = await measured(async () => {
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
const download = await measured(async () => {
  const res = await fetch(`${base}/exports/${exportId}/file`, { headers })
  if (res.status !== 200 || !res.body) throw new Error(`download: ${res.status}`)
  for await (const chunk of res.body) downloaded += (chunk as Uint8Array).length
})

console.log(`PostgreSQL; export of ${rows} rows of 12 fields (6 masked); batches of ${BATCH_ROWS}`)
console.log(`baseline  (pg keyset batches → plain CSV file): ${(rows / bare.seconds).toFixed(0)} rows/s, ${bare.seconds.toFixed(1)} s, peak RSS ${mb(bare.peakRss)} MB`)
console.log(`datagate  POST …/exports until done:          ${(rows / datagate.seconds).toFixed(0)} rows/s, ${datagate.seconds.toFixed(1)} s, peak RSS ${mb(datagate.peakRss)} MB ` +
  `(${written} rows written, ${mb(bytes)} MB sealed file)`)
console.log(`datagate  GET …/file (download):               ${download.seconds.toFixed(1)} s, ${mb(downloaded)} MB of CSV, peak RSS ${mb(download.peakRss)} MB`)
console.log(`throughput ratio ${(bare.seconds / datagate.seconds).toFixed(2)}; peak RSS of the whole process (platform, pools, this script) ${mb(Math.max(datagate.peakRss, download.peakRss))} MB`)

await app.close()
await bench.drop()
rmSync(scratch, { recursive: true, force: true })
