// The person's right to know (003 3(1), 3(3)): reads and exports of datasets with personal
// information record, beside the audit chain, the keyed digests of the persons whose rows they
// served; GET /api/v1/audit/persons/{personKey}/accesses finds them (auditor only).
import { sql } from 'kysely'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { createPersonAccessRepository } from '../../src/audit/persons/repository.js'
import { isTraced, personTracerOf } from '../../src/audit/persons/trace.js'
import { createAuditWriter } from '../../src/audit/writer.js'
import { loggerOptions } from '../../src/platform/logging.js'
import { build, type TestApp } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'
import { seedStudents } from '../helpers/data.js'
import { insertGrant } from '../helpers/grants.js'
import type { AccessMode } from '../../src/authorization/index.js'

type Claims = { unit: string, sub: string }
const MATH = { unit: 'MATH', sub: 'math-reader' }
const LAW = { unit: 'LAW', sub: 'law-reader' }
const person = (n: number) => String(2026000000 + n)
const FIELDS = ['student_id', 'name', 'phone', 'college']

/**
 * A dataset of 12 students with the given PI flags, and a grant on it to `unit`. Every student
 * consented (separately; a guardian for children) to the grant's purpose: a grant on sensitive or
 * children's data serves only the rows of persons who did (migrations/0019).
 */
async function datasetWithGrant (h: TestApp, code: string, flags: { sensitive_pi?: boolean, children_pi?: boolean }, unit: string, grant: Record<string, unknown> = {}) {
  const db = h.database.db
  if (!(await db.selectFrom('datasets').select('code').where('code', '=', code).executeTakeFirst())) {
    await insertDataset(h, { code, subject: `subject of ${code}`, ...flags })
    await seedStudents(h, 12, code)
  }
  const modes: AccessMode[] = ['api', 'export']
  const fixture = (await insertGrant(h, {
    request: { dataset_code: code, consumer_unit: unit, fields: FIELDS, access_modes: modes, purpose: `purpose of ${unit} on ${code}` },
    grant: { fields: FIELDS, access_modes: modes, ...grant }
  })).grant
  // until consent is held row by row (migrations/0019) every row is served without this
  const byRow = (await sql<{ on: boolean }>`select to_regclass('purposes') is not null as on`.execute(db)).rows[0]!.on
  if (!byRow) return fixture
  const purpose = `${unit.toLowerCase()}_${code}`
  await sql`insert into purposes (code, name_zh, name_en, description, created_by) values (${purpose}, ${purpose}, ${purpose}, 'test', 'fixture')`.execute(db)
  await sql`update grants set purpose_code = ${purpose} where id = ${fixture.id}`.execute(db)
  await sql`insert into consents (unit_code, person_key, dataset_code, purpose_code, kind, evidence, given_at, recorded_by)
    select 'CS', p, ${code}, ${purpose}, ${flags.children_pi ? 'guardian' : 'separate'}, 'signed form', now(), 'fixture'
      from unnest(${Array.from({ length: 12 }, (_, i) => person(i + 1))}::text[]) p`.execute(db)
  return fixture
}

async function read (h: TestApp, dataset: string, query: string, claims: Claims) {
  const res = await h.as('consumer', { method: 'GET', url: `/api/v1/data/${dataset}/records${query}` }, claims)
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return { seq: res.headers['x-audit-event'] as string, served: (res.json().data as { student_id: string }[]).map((r) => r.student_id) }
}

async function accesses (h: TestApp, key: string, query = '') {
  return await h.as('auditor', { method: 'GET', url: `/api/v1/audit/persons/${key}/accesses${query}` }, { unit: 'OFFICE', sub: 'auditor-li' })
}
const seqsOf = async (h: TestApp, key: string, query = '') => (await accesses(h, key, query)).json().data.map((a: { seq: string }) => a.seq)

async function exported (h: TestApp, dataset: string, ids: string[], claims: Claims) {
  const created = await h.as('consumer', { method: 'POST', url: `/api/v1/data/${dataset}/exports`, payload: { where: { student_id: ids } } }, claims)
  if (created.statusCode !== 202) throw new Error(`${created.statusCode} ${created.body}`)
  for (let i = 0; i < 600; i++) {
    const body = (await h.as('consumer', { method: 'GET', url: `/api/v1/exports/${created.json().id}` }, claims)).json()
    if (body.status === 'done') return body.id as string
    if (body.status !== 'queued' && body.status !== 'running') throw new Error(`export ${body.status}: ${body.error}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('the export did not finish')
}

t.test('the default mode (sensitive)', async (t) => {
  const h = await build(t)
  const healthMath = await datasetWithGrant(h, 'health', { sensitive_pi: true }, 'MATH', { masked: false })
  await datasetWithGrant(h, 'health', { sensitive_pi: true }, 'LAW')
  await datasetWithGrant(h, 'students', {}, 'MATH', { masked: false })

  const page = await read(h, 'health', '?limit=4', MATH)
  const other = await read(h, 'health', `?where[student_id]=${person(9)}`, LAW)
  const plain = await read(h, 'students', '?limit=4', MATH)
  t.ok(page.served.length > 0 && !page.served.includes(person(9)), 'the page served some persons, not person 9')
  t.equal(other.served.length, 1, 'LAW read person 9 (masked)')
  t.same(plain.served, page.served, 'the dataset without sensitive PI served the same persons')
  const exportId = await exported(h, 'health', [person(9), person(10)], MATH)

  await t.test('finds exactly the reads and exports that served the person', async (t) => {
    const first = await accesses(h, page.served[0]!)
    t.equal(first.statusCode, 200)
    t.match(first.json(), {
      digest: /^[0-9a-f]{64}$/,
      data: [{
        seq: page.seq,
        action: 'query',
        operation: 'data.records.read',
        dataset: 'health',
        unit: 'MATH',
        actor: 'math-reader',
        grant: healthMath.id,
        purpose: 'purpose of MATH on health',
        fields: FIELDS,
        masked: false,
        maskedFields: [],
        export: null
      }],
      nextCursor: null
    })
    t.equal(first.json().data.length, 1, 'only the read of the sensitive dataset (the other dataset is not traced)')

    const nine = (await accesses(h, person(9))).json().data
    t.match(nine, [{ action: 'export', operation: 'data.export.write', unit: 'MATH', export: exportId, dataset: 'health' }, { seq: other.seq, unit: 'LAW', masked: true }],
      'person 9: the export, then LAW\'s read, newest first')
    t.equal(nine.length, 2)
    t.same(await seqsOf(h, person(12)), [], 'a person nobody read')
    t.same(await seqsOf(h, 'nobody-at-all'), [], 'a key no dataset holds')
  })

  await t.test('filters and pages', async (t) => {
    t.same(await seqsOf(h, person(9), '?dataset=students'), [])
    t.equal((await seqsOf(h, person(9), '?dataset=health')).length, 2)
    const future = new Date(Date.now() + 3_600_000).toISOString()
    t.same(await seqsOf(h, person(9), `?from=${future}`), [])
    t.same(await seqsOf(h, person(9), `?to=${future}&limit=1`), [(await seqsOf(h, person(9)))[0]])
    const one = (await accesses(h, person(9), '?limit=1')).json()
    t.ok(one.nextCursor)
    const rest = (await accesses(h, person(9), `?limit=1&cursor=${one.nextCursor}`)).json()
    t.same(rest.data.map((a: { seq: string }) => a.seq), [other.seq])
    t.equal(rest.nextCursor, null)
  })

  await t.test('refused roles, bad input', async (t) => {
    for (const role of ['security_admin', 'system_admin', 'consumer', 'steward', 'supervisor', 'leadership'] as const) {
      const res = await h.as(role, { method: 'GET', url: `/api/v1/audit/persons/${person(1)}/accesses` }, { unit: 'OFFICE', sub: `${role}-x` })
      t.equal(res.statusCode, 403, `${role} is refused`)
    }
    t.equal((await h.app.inject({ method: 'GET', url: `/api/v1/audit/persons/${person(1)}/accesses` })).statusCode, 401)
    const bad: [string, string][] = [
      ['?limit=0', 'limit'], ['?limit=101', 'limit'], ['?from=yesterday', 'from'], ['?dataset=no%20such', 'dataset'],
      ['?cursor=bm90IGEgY3Vyc29y', 'cursor'], [`?from=${new Date().toISOString()}&to=2020-01-01T00:00:00Z`, 'to'], ['?colour=red', 'colour']
    ]
    for (const [query, field] of bad) {
      const res = await accesses(h, person(1), query)
      t.equal(res.statusCode, 400, query)
      t.match(res.json(), { errors: [{ field: new RegExp(field) }] }, `${query} names ${field}`)
    }
    t.equal((await accesses(h, 'x'.repeat(201))).statusCode, 400, 'a person key of more than 200 characters')
  })

  await t.test('the lookup is audited with the digest; no raw person key is stored anywhere in the log', async (t) => {
    const looked = (await accesses(h, person(3))).json()
    await auditLogOf(h.database.db)!.flush()
    const events = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events?action=query&limit=200' })).json().data
    t.match(events.filter((e: { operation: string }) => e.operation === 'audit.persons.accesses').at(-1),
      { objectType: 'person', objectId: looked.digest, actor: { sub: 'auditor-li' } })
    const db = h.database.db
    for (const n of [1, 2, 3, 9, 10]) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_events e where e::text like ${`%${person(n)}%`}`.execute(db)
      t.equal(rows[0]!.n, 0, `person ${n}'s key is nowhere in audit_events`)
      const side = await sql<{ n: number }>`select count(*)::int as n from audit_person_reads
        where position(convert_to(${person(n)}, 'UTF8') in digests) > 0`.execute(db)
      t.equal(side.rows[0]!.n, 0, `nor in the side table (${n})`)
    }
    // each person as the first 16 bytes of HMAC-SHA256, keyed in the index by its first four
    const stored = await sql<{ digest: string, prefix: number }>`select encode(substring(r.digests from i * 16 + 1 for 16), 'hex') as digest, r.prefixes[i + 1] as prefix
      from audit_person_reads r, generate_series(0, cardinality(r.prefixes) - 1) as i`.execute(db)
    t.ok(stored.rows.length >= page.served.length + 3, 'digests were stored')
    const tracer = personTracerOf(h.app.config)
    const first = tracer.candidates(page.served[0]!)[0]!
    t.same(stored.rows.filter((r) => r.digest === first.subarray(0, 16).toString('hex')), [{ digest: first.subarray(0, 16).toString('hex'), prefix: first.readInt32BE(0) }],
      'the first person of the page, in its one read: their HMAC truncated to 16 bytes, under its first four bytes')
    t.ok(stored.rows.every((r) => r.prefix === Buffer.from(r.digest, 'hex').readInt32BE(0)), 'every prefix is its digest\'s')
    const counted = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events?dataset=health&action=query' })).json().data
    t.match(counted.find((e: { seq: number }) => String(e.seq) === page.seq), { details: { persons: page.served.length } }, 'the chained event counts its persons')
    t.match((await h.as('auditor', { method: 'GET', url: '/api/v1/audit/verify' })).json(), { ok: true, firstBroken: null }, 'the chain verifies')
  })

  await t.test('the trace is append-only: no update, and no delete while its event is in the log', async (t) => {
    const db = h.database.db
    await t.rejects(sql`update audit_person_reads set seq = seq + 1`.execute(db), /append-only/)
    await t.rejects(sql`update audit_person_reads set digests = digests where seq = ${page.seq}::bigint`.execute(db), /append-only/)
    await t.rejects(sql`delete from audit_person_reads where seq = ${page.seq}::bigint`.execute(db), /still in the audit log/)
    await t.rejects(sql`truncate audit_person_reads`.execute(db), /append-only/)
    t.same(await seqsOf(h, page.served[0]!), [page.seq], 'the trace is intact')
  })

  await t.test('the request log names the route, never the person key', async (t) => {
    const serializers = (loggerOptions('info') as { serializers: { req: (r: object) => { path: string } } }).serializers
    t.equal(serializers.req({ method: 'GET', url: `/api/v1/audit/persons/${person(3)}/accesses?from=x`, headers: {} }).path, '/api/v1/audit/persons/[redacted]/accesses')
  })
})

t.test('AUDIT_PERSON_TRACE=off traces children\'s data only', async (t) => {
  const h = await build(t, { env: { AUDIT_PERSON_TRACE: 'off' } })
  await datasetWithGrant(h, 'kids', { children_pi: true }, 'MATH', { masked: false })
  await datasetWithGrant(h, 'health', { sensitive_pi: true }, 'MATH', { masked: false })
  const kids = await read(h, 'kids', '?limit=3', MATH)
  const health = await read(h, 'health', '?limit=3', MATH)
  t.ok(kids.served.length > 0)
  t.same(health.served, kids.served, 'the same persons in both')
  t.same(await seqsOf(h, kids.served[0]!), [kids.seq], 'the children\'s read only')
})

t.test('which datasets each mode traces', async (t) => {
  const ds = (flags: { holds_pi?: boolean, sensitive_pi?: boolean, children_pi?: boolean }, personKey: string | null = 'student_id') =>
    ({ holds_pi: false, sensitive_pi: false, children_pi: false, person_key: personKey, ...flags })
  t.same(['all', 'sensitive', 'off'].map((m) => isTraced(m as 'all', ds({ holds_pi: true }))), [true, false, false])
  t.same(['all', 'sensitive', 'off'].map((m) => isTraced(m as 'all', ds({ holds_pi: true, sensitive_pi: true }))), [true, true, false])
  t.same(['all', 'sensitive', 'off'].map((m) => isTraced(m as 'all', ds({ holds_pi: true, children_pi: true }))), [true, true, true])
  t.same(['all', 'sensitive', 'off'].map((m) => isTraced(m as 'all', ds({}))), [false, false, false])
  t.equal(isTraced('all', ds({ children_pi: true }, null)), false, 'no person key, nobody to trace')
})

t.test('the retention purge takes the traces of the events it drops', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  const digest = (n: number) => Buffer.alloc(32, n)
  const event = { action: 'query' as const, operation: 'data.records.read', actor: { sub: 'u', unit: 'CS' }, dataset: 'health', rows: 1 }
  const past = createAuditWriter({
    db: h.database.db, hash: 'sha256', signingKey: h.key, checkpointEvents: 1000, checkpointSeconds: 60, now: () => new Date(Date.now() - 400 * 86_400_000)
  })
  await past.append({ ...event, persons: [digest(1), digest(2)] })
  await past.append({ ...event, persons: [digest(1)] })
  await log.append({ ...event, persons: [digest(1), digest(3)] })
  await log.repository.ensurePartitions()
  const traces = async () => (await sql<{ seq: string, d: number }>`select seq::text, get_byte(digests, i * 16) as d
    from audit_person_reads, generate_series(0, cardinality(prefixes) - 1) as i order by seq, d`.execute(h.database.db)).rows
  t.same(await traces(), [{ seq: '1', d: 1 }, { seq: '1', d: 2 }, { seq: '2', d: 1 }, { seq: '3', d: 1 }, { seq: '3', d: 3 }], 'moved out of DEFAULT with their events')
  t.match(await log.purge(), { deleted: 2, through: '2' })
  t.same(await traces(), [{ seq: '3', d: 1 }, { seq: '3', d: 3 }], 'the purged events\' traces are gone, the kept ones stay')
  t.match(await log.verify(), { ok: true })
})

t.test('a lookup matches the whole 16-byte digest at a prefix\'s position, before and after the index merges its pending list', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  const repo = createPersonAccessRepository(h.database.db)
  /** 32 bytes: `head` in the first four, `fill` after them, `tweak` written at `at` */
  const digest = (head: number, fill: number, at?: number, tweak = 0) => {
    const d = Buffer.alloc(32, fill)
    d.writeInt32BE(head, 0)
    if (at !== undefined) d[at] = tweak
    return d
  }
  const a = digest(-7, 1)
  const samePrefix = digest(-7, 2) // a's first four bytes only
  const sameFifteen = digest(-7, 1, 15, 9) // a's first 15 bytes
  const sameSixteen = digest(-7, 1, 16, 9) // a's first 16 bytes: what is stored of a
  const aTail = digest(5, 1) // a's bytes 4–15 under another prefix
  const other = digest(11, 3)
  const seqOf = async (persons: Buffer[]) =>
    (await log.append({ action: 'query', operation: 'data.records.read', actor: { sub: 'u', unit: 'CS' }, dataset: 'health', rows: persons.length, persons })).seq
  const e1 = await seqOf([samePrefix])
  const e2 = await seqOf([sameFifteen, other])
  const e3 = await seqOf([other, a])
  const e4 = await seqOf([sameSixteen])
  const e5 = await seqOf([samePrefix, aTail]) // a's prefix at one position, the rest of a at another
  const found = async (...digests: Buffer[]) => (await repo.accesses({ digests, limit: 10 })).map((r) => r.seq)

  for (const state of ['in the pending list', 'merged into the index']) {
    t.same(await found(a), [e4, e3], `a: its own reads and the one of its first 16 bytes (${state})`)
    t.same(await found(samePrefix), [e5, e1], `a shared prefix is not a match (${state})`)
    t.same(await found(sameFifteen), [e2], `nor 15 shared bytes (${state})`)
    t.same(await found(aTail), [e5], `nor a's bytes under another prefix (${state})`)
    t.same(await found(other, a), [e4, e3, e2], `several candidates (a rotation of keys): each event once (${state})`)
    t.same(await found(digest(-8, 1)), [], `a prefix nobody has (${state})`)
    if (state === 'in the pending list') t.ok(await repo.mergePending() > 0, 'the merge took the pending list into the index')
  }
  t.equal(await repo.mergePending(), 0, 'nothing left to merge')

  const [short, beside] = await Promise.allSettled([seqOf([a, Buffer.alloc(15)]), seqOf([a])])
  t.match(short, { status: 'rejected', reason: { message: /16 bytes at least, not 15/ } }, 'a digest shorter than what is stored is refused')
  t.match(beside, { status: 'fulfilled' }, 'alone: the event appended beside it is written')
  t.same(await found(a), [(beside as PromiseFulfilledResult<string>).value, e4, e3])
})
