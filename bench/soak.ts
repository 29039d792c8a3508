// Soak: mixed traffic at 50 connections for 10 minutes against the platform in a process of its own
// on PostgreSQL, as `npm start` runs it (V8's old space capped at 256 MB): data reads at random
// positions, denied reads (a field outside the grant; a unit without a grant), ingest batches by the
// producer, share requests and their list, and exports created, polled and downloaded one after the
// other. It passes when there was no 5xx, memory stayed flat, and the audit log holds exactly one
// event for every data response and every denial the clients received (the X-Audit-Event of each,
// none missing, none twice, none more).
//
//   npm run build && npx tsx bench/soak.ts              # 10 minutes (BENCH_SOAK_SECONDS=600)
//   BENCH_SOAK_SECONDS=60 npx tsx bench/soak.ts         # a short run
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { idNumberCheckCharacter } from '../src/platform/id-number.js'
import { sealCursor } from '../src/gateway/data/plan.js'
import { loadMaskingKey } from '../src/masking/keys.js'
import { loadSigningKey } from '../src/platform/auth/keys.js'
import { createTokenIssuer } from '../src/platform/auth/token.js'
import { benchDatabase, insertUnits, memoryOf, seedPeople, spawnPlatform } from './people.js'

const seconds = Number(process.env.BENCH_SOAK_SECONDS ?? 600)
const rowsInDataset = Number(process.env.BENCH_ROWS ?? 100_000)
const nodeArgs = (process.env.BENCH_PLATFORM_NODE_ARGS ?? '--max-old-space-size=256').split(' ').filter(Boolean)
/** connections per kind of traffic: 50 in all, the export loop included */
const MIX = { read: 36, denied: 4, ingest: 4, request: 5, export: 1 } as const
type Kind = keyof typeof MIX

const bench = await benchDatabase()
const grant = await seedPeople(bench, rowsInDataset, ['api', 'export'])
await insertUnits(bench, ['PHYS'])
const signing = loadSigningKey(bench.config, { generate: true })!
const maskingKey = loadMaskingKey(bench.config, { generate: true }) // the platform loads the same keys from the data dir
const issuer = createTokenIssuer(signing, { issuer: bench.config.JWT_ISSUER, audience: bench.config.JWT_AUDIENCE, maxTtlSeconds: 86_400 })
const tokenOf = (sub: string, unit: string, roles: string[]) => `Bearer ${issuer.sign({ sub, unit, roles: roles as never }, seconds + 3600)}`
// one principal per kind of traffic
const reader = tokenOf('soak-reader', 'MATH', ['consumer'])
const prober = tokenOf('soak-prober', 'MATH', ['consumer'])
const stranger = tokenOf('soak-stranger', 'PHYS', ['consumer'])
const requester = tokenOf('soak-requester', 'PHYS', ['consumer'])
const producer = tokenOf('soak-producer', 'CS', ['steward'])

// Automatic blacklisting off: otherwise the denied principals are blocked within a minute and their
// refusals become AUTH_BLOCKED answers, of which the audit log keeps 60 per caller and minute (the
// rest counted in the next event: src/audit/denials.ts); the soak is about the data path's steady
// state, where every refusal is an event of its own. Blacklisting: test/audit/blacklist.test.ts.
const platform = await spawnPlatform(bench, { EXPORT_DECOY_EVERY: '5000', BLACKLIST_AUTO_MINUTES: '0' }, nodeArgs)
const api = `${platform.url}/api/v1`
const audit = new pg.Pool({ connectionString: bench.url, max: 1 })
const headSeq = async () => BigInt((await audit.query<{ seq: string }>('select coalesce(max(seq), 0)::text as seq from audit_events')).rows[0]!.seq)

/** What the clients saw: statuses per kind, and the X-Audit-Event of every data response and denial. */
const statuses: Record<Kind, Map<number, number>> = { read: new Map(), denied: new Map(), ingest: new Map(), request: new Map(), export: new Map() }
const auditSeqs: string[] = []
const failures: string[] = []
let dataResponses = 0
let denials = 0
let exportsDone = 0
let exportedRows = 0

function count (kind: Kind, status: number) {
  statuses[kind].set(status, (statuses[kind].get(status) ?? 0) + 1)
  if (status >= 500 && failures.length < 20) failures.push(`${kind}: ${status}`)
}

/** Counts an answer and keeps its X-Audit-Event; its body. */
async function answer (kind: Kind, res: Response): Promise<string> {
  count(kind, res.status)
  const seq = res.headers.get('x-audit-event')
  if (seq !== null) auditSeqs.push(seq)
  return await res.text()
}

/** A data-path answer: it must carry its audit event; a 2xx is a data response, anything else a denial. */
async function dataAnswer (kind: Kind, res: Response): Promise<string> {
  if (!res.headers.has('x-audit-event') && failures.length < 20) failures.push(`${kind}: ${res.status} without X-Audit-Event`)
  if (res.ok) dataResponses++
  else denials++
  return await answer(kind, res)
}

const randomKey = () => String(1 + Math.floor(Math.random() * Math.max(1, rowsInDataset - 100))).padStart(10, '0')
let ingested = 0
function student (n: number) {
  const first17 = `110105${2000 + (n % 8)}0${1 + (n % 9)}1${n % 10}${String(n % 1000).padStart(3, '0')}`
  return {
    student_id: String(5_000_000_000 + n),
    name: `张${n % 100}`,
    id_number: first17 + idNumberCheckCharacter(first17),
    phone: `139${String(n % 100_000_000).padStart(8, '0')}`,
    email: `soak.${n}@example.edu.cn`,
    address: `北京市海淀区学院路${n % 300}号`,
    college: 'CS',
    major: `major ${n % 40}`,
    year: 2020 + (n % 6),
    gpa: (n % 400) / 100,
    active: n % 2 === 0,
    enrolled_on: `${2020 + (n % 6)}-09-01`
  }
}

const steps: Record<Kind, () => Promise<void>> = {
  async read () {
    const cursor = sealCursor(maskingKey, grant.id, randomKey())
    await dataAnswer('read', await fetch(`${api}/data/people/records?limit=100&cursor=${cursor}`, { headers: { authorization: reader } }))
  },
  async denied () {
    const refused = Math.random() < 0.5
      ? await fetch(`${api}/data/people/records?limit=10&fields=student_id,salary`, { headers: { authorization: prober } }) // outside the grant
      : await fetch(`${api}/data/people/records?limit=10`, { headers: { authorization: stranger } }) // no grant at all
    await dataAnswer('denied', refused)
  },
  async ingest () {
    // half new students, half updates of the ones sent before
    const records = Array.from({ length: 50 }, (_, i) => student(i % 2 === 0 || ingested < 100 ? ingested + i : Math.floor(Math.random() * ingested)))
    ingested += 50
    await answer('ingest', await fetch(`${api}/datasets/people/records`, { method: 'PUT', headers: { authorization: producer, 'content-type': 'application/json' }, body: JSON.stringify(records) }))
  },
  async request () {
    const res = Math.random() < 0.5
      ? await fetch(`${api}/share-requests?limit=20`, { headers: { authorization: requester } })
      : await fetch(`${api}/share-requests`, {
        method: 'POST',
        headers: { authorization: requester, 'content-type': 'application/json' },
        body: JSON.stringify({
          dataset: 'people',
          fields: ['student_id', 'college', 'year'],
          purpose: 'soak: course planning',
          legalBasis: '履行法定职责',
          accessModes: ['api'],
          validFrom: '2026-01-01',
          validUntil: '2027-12-31',
          dailyRowQuota: 10_000,
          thirdParty: false
        })
      })
    await answer('request', res)
  },
  async export () {
    const headers = { authorization: reader, 'content-type': 'application/json' }
    const asked = await fetch(`${api}/data/people/exports`, { method: 'POST', headers, body: JSON.stringify({ fields: ['student_id', 'name', 'phone', 'college', 'year'] }) })
    const body = await dataAnswer('export', asked)
    if (asked.status !== 202) return
    const { id } = JSON.parse(body) as { id: string }
    for (;;) {
      await sleep(200)
      const state = JSON.parse(await answer('export', await fetch(`${api}/exports/${id}`, { headers }))) as { status: string, rowsWritten: number }
      if (state.status === 'failed') { failures.push(`export ${id} failed`); return }
      if (state.status === 'done') { exportedRows += state.rowsWritten; break }
    }
    await dataAnswer('export', await fetch(`${api}/exports/${id}/file`, { headers }))
    exportsDone++
  }
}

// every connection runs its kind of request, one after the other, until the time is up; a request
// in flight then finishes, so that every response is counted
const startSeq = await headSeq()
const started = Date.now()
const deadline = started + seconds * 1000
const memory: { at: number, rss: number }[] = []
const sampler = setInterval(() => { memory.push({ at: (Date.now() - started) / 1000, rss: memoryOf(platform.pid).rss }) }, 5000)
const workers = (Object.keys(MIX) as Kind[]).flatMap((kind) => Array.from({ length: MIX[kind] }, async () => {
  while (Date.now() < deadline) {
    try {
      await steps[kind]()
    } catch (err) {
      if (failures.length < 20) failures.push(`${kind}: ${(err as Error).message}`)
      count(kind, 0)
    }
  }
}))
await Promise.all(workers)
clearInterval(sampler)
const elapsed = (Date.now() - started) / 1000

// the audit log against what the clients saw: every X-Audit-Event is an event, each once, and every
// event of a data response or a denial was answered (none recorded for a request nobody got)
const events = (await audit.query<{ seq: string, kind: string }>(
  `select seq::text, case when operation in ('data.records.read', 'data.export.create', 'data.export.download') or action = 'denied' then 'data' else 'other' end as kind
     from audit_events where seq > $1 order by seq`, [String(startSeq)])).rows
const seen = new Set(auditSeqs)
const loggedSet = new Set(events.map((e) => e.seq))
const logged = events.filter((e) => e.kind === 'data').map((e) => e.seq)
const duplicated = auditSeqs.length - seen.size
const missing = [...seen].filter((s) => !loggedSet.has(s)).length
const unanswered = logged.filter((s) => !seen.has(s)).length
const verify = await fetch(`${api}/audit/verify`, { headers: { authorization: tokenOf('soak-auditor', 'OFFICE', ['auditor']) } }).then(async (r) => await r.json() as { ok: boolean, checked: number })

const all = Object.values(statuses).flatMap((m) => [...m])
const total = all.reduce((n, [, c]) => n + c, 0)
const fivexx = all.filter(([s]) => s >= 500 || s === 0).reduce((n, [, c]) => n + c, 0)
const mb = (b: number) => (b / 1048576).toFixed(0)
const minute = (from: number, to: number) => { const s = memory.filter((m) => m.at >= from && m.at < to); return s.reduce((n, m) => n + m.rss, 0) / Math.max(1, s.length) }
const early = minute(60, 120)
const late = minute(elapsed - 60, elapsed + 1)

console.log(`PostgreSQL; ${rowsInDataset} rows; platform from ${platform.entry} ${nodeArgs.join(' ')}; ${elapsed.toFixed(0)} s at ${Object.values(MIX).reduce((a: number, b) => a + b, 0)} connections`)
for (const kind of Object.keys(MIX) as Kind[]) {
  const line = [...statuses[kind]].sort(([a], [b]) => a - b).map(([s, c]) => `${s}: ${c}`).join(', ')
  console.log(`  ${kind.padEnd(8)} ${line}`)
}
console.log(`requests ${total} (${(total / elapsed).toFixed(0)}/s); 5xx or failed: ${fivexx}; exports done ${exportsDone} (${exportedRows} rows); records ingested ${ingested}`)
console.log(`audit: ${dataResponses} data responses + ${denials} denials = ${dataResponses + denials}; their events logged ${logged.length} (${events.length} in all); ` +
  `missing ${missing}, duplicated ${duplicated}, without a response ${unanswered}; chain ${verify.ok ? 'verifies' : 'BROKEN'} (${verify.checked} events)`)
console.log(`platform RSS (MB): ${memory.filter((_, i) => i % 12 === 0).map((m) => `${m.at.toFixed(0)} s ${mb(m.rss)}`).join(', ')}; ` +
  (seconds >= 180 ? `mean of minute 2 ${mb(early)}, of the last minute ${mb(late)} (${((late / early - 1) * 100).toFixed(1)}%), ` : '') +
  `peak ${mb(Math.max(...memory.map((m) => m.rss)))}`)
for (const f of failures) console.log(`  failure: ${f}`)
const pass = fivexx === 0 && failures.length === 0 && missing === 0 && duplicated === 0 && unanswered === 0 && verify.ok && (seconds < 180 || late <= early * 1.1)
console.log(pass ? 'PASS' : 'FAIL')

await audit.end()
await platform.stop()
await bench.drop()
process.exitCode = pass ? 0 : 1
