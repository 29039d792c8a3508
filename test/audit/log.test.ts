import { sql } from 'kysely'
import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { createAuditWriter } from '../../src/audit/writer.js'
import { eventsOf } from '../../src/platform/events.js'
import { build, createUnit } from '../helpers/build.js'

const listEvents = async (h: Awaited<ReturnType<typeof build>>, query = '') => {
  const res = await h.as('auditor', { method: 'GET', url: `/api/v1/audit/events${query}` }, { sub: 'auditor-1' })
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json() as { data: Record<string, any>[], nextCursor: string | null }
}

t.test('append is durable and chained; concurrent appends share batches in one global order', async (t) => {
  const h = await build(t)
  const results = await Promise.all(Array.from({ length: 120 }, (_, i) => auditLogOf(h.database.db)!.append({
    service: 'gateway',
    action: 'query',
    operation: 'records.read',
    actor: { sub: `user-${i % 7}`, unit: 'CS', roles: ['consumer'], client: null, ip: '10.0.0.1' },
    dataset: 'students',
    fields: ['student_id', 'name'],
    rows: i,
    grantId: 'g-1',
    requestId: `r-${i}`,
    details: { where: { college: 'CS' } }
  })))
  const seqs = results.map((r) => Number(r.seq))
  t.equal(new Set(seqs).size, 120, 'each event has its own seq')
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'in the order they were appended')
  // committed: visible from a fresh read without any flush
  const stored = await h.database.db.selectFrom('audit_events').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()
  t.ok(stored.n >= 120)
  const verify = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/verify' })
  t.equal(verify.statusCode, 200)
  t.match(verify.json(), { ok: true, firstBroken: null }, verify.body)
  t.ok(verify.json().checked >= 120)
})

t.test('state changes of every service land in the chain through the domain-event relay', async (t) => {
  const h = await build(t)
  await createUnit(h, 'CS')
  const res = await h.as('steward', {
    method: 'POST',
    url: '/api/v1/datasets',
    payload: {
      code: 'courses',
      name: 'Courses',
      subject: 'courses',
      category: 'teaching',
      shareAttribute: 'unconditional',
      openAttribute: 'none',
      updateFrequency: 'monthly',
      retentionDays: 365,
      primaryKey: ['id'],
      fields: [{ name: 'id', type: 'string', required: true }]
    }
  }, { unit: 'CS', sub: 'steward-cs' })
  t.equal(res.statusCode, 201, res.body)
  t.equal((await eventsOf(h.database.db, 'dataset', 'courses')).length, 1, 'eventsOf still sees the domain event')
  const { data } = await listEvents(h, '?dataset=courses')
  t.match(data, [{
    service: 'catalog',
    action: 'insert',
    operation: 'dataset.create',
    outcome: 'success',
    actor: { sub: 'steward-cs', unit: 'CS' },
    objectType: 'dataset',
    objectId: 'courses',
    requestId: res.headers['x-request-id']
  }])
  const domain = await sql<{ id: string, audit_seq: string | null }>`select id::text, audit_seq::text from domain_events`.execute(h.database.db)
  t.ok(domain.rows.length > 0 && domain.rows.every((d) => d.audit_seq !== null), 'every domain event is marked with its seq')
  t.equal(String(data[0]!.domainEventId), domain.rows.find((d) => d.audit_seq === String(data[0]!.seq))?.id)
  // relayed once only, whatever the number of flushes
  await auditLogOf(h.database.db)!.flush()
  t.equal((await listEvents(h, '?dataset=courses')).data.length, 1)
})

t.test('domain events are relayed into the chain in the order they were recorded', async (t) => {
  const h = await build(t)
  // 120 at once: their ids cross a power of ten, where their text would sort differently ("10" < "9")
  await sql`insert into domain_events (service, action, actor_sub, actor_unit, object_type, object_id)
            select 'catalog', 'unit.update', 'tester', 'OFFICE', 'unit', 'relay-order-' || i from generate_series(1, 120) i`.execute(h.database.db)
  await auditLogOf(h.database.db)!.flush()
  const { rows } = await sql<{ id: string, audit_seq: string | null }>`
    select id::text, audit_seq::text from domain_events where object_id like 'relay-order-%' order by domain_events.id`.execute(h.database.db)
  t.equal(rows.length, 120)
  t.ok(rows.every((r) => r.audit_seq !== null), 'every one relayed')
  const seqs = rows.map((r) => Number(r.audit_seq))
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'in id order: an older event never gets a later seq')
})

t.test('only the auditor reads audit; the refusals of the other officers are themselves audited', async (t) => {
  const h = await build(t)
  for (const role of ['system_admin', 'security_admin'] as const) {
    const res = await h.as(role, { method: 'GET', url: '/api/v1/audit/events' }, { sub: `${role}-1`, unit: 'OFFICE' })
    t.equal(res.statusCode, 403, role)
  }
  const anonymous = await h.app.inject({ method: 'GET', url: '/api/v1/audit/events', headers: { authorization: 'Bearer abc.def.ghi' } })
  t.equal(anonymous.statusCode, 401)
  const { data } = await listEvents(h, '?action=denied')
  t.same(data.map((e) => [e.actor.sub, e.outcome, e.details.status]), [
    ['system_admin-1', 'denied', 403], ['security_admin-1', 'denied', 403], ['anonymous', 'denied', 401]
  ])
  t.same(data[0]!.actor.roles, ['system_admin'])
  t.equal(data[0]!.operation, 'GET /api/v1/audit/events')
  t.notMatch(JSON.stringify(data), /abc\.def\.ghi|Bearer/, 'never the token')
  // the auditor's own read is recorded too
  const reads = await listEvents(h, '?actor=auditor-1&action=query')
  t.ok(reads.data.length >= 1)
})

t.test('a denial storm from one caller is bounded: the surplus is counted, not stored', async (t) => {
  const h = await build(t)
  for (let i = 0; i < 70; i++) {
    await h.app.inject({ method: 'GET', url: '/api/v1/audit/checkpoints', headers: { authorization: 'Bearer x.y.z' } })
  }
  const { data } = await listEvents(h, '?action=denied&limit=200')
  t.equal(data.length, 60, 'at most 60 a minute per caller')
})

t.test('SM3 chains verify like SHA-256 ones', async (t) => {
  const h = await build(t, { env: { AUDIT_HASH: 'sm3', AUDIT_CHECKPOINT_EVENTS: '5' } })
  const log = auditLogOf(h.database.db)!
  for (let i = 0; i < 12; i++) await log.append({ action: 'login', operation: 'auth.token', actor: { sub: `c${i}`, client: 'dgc_1' } })
  t.match(await log.verify(), { ok: true, checked: 12, checkpoints: 2 })
  const { data } = await listEvents(h)
  t.ok(data.length === 12 && data.every((e) => e.hashAlg === 'sm3'))
})

t.test('two processes append at once: every event lands, once, in one chain (WORKERS, scaled-out services)', async (t) => {
  const h = await build(t)
  // a second process of the same deployment: its own pool (PostgreSQL) and its own writer, pipelined
  // as the audit plugin runs it; on PGlite the one connection is shared
  const other = h.testDb.url ? await h.testDb.open() : h.database
  if (other !== h.database) t.teardown(async () => { await other.close() })
  const second = createAuditWriter({ db: other.db, hash: 'sha256', signingKey: h.key, checkpointEvents: 1000, checkpointSeconds: 60, pipeline: 4 })
  const first = auditLogOf(h.database.db)!
  const event = (writer: string, i: number) => ({
    service: 'gateway' as const,
    action: 'query' as const,
    operation: 'data.records.read',
    actor: { sub: `${writer}-${i % 5}`, unit: 'CS' },
    dataset: 'students',
    rows: 1,
    persons: [Buffer.alloc(32, i % 251)],
    requestId: `${writer}-${i}`
  })
  // waves of appends from both at once, so that their batches keep racing for the same head
  const results: { seq: string }[] = []
  for (let wave = 0; wave < 8; wave++) {
    results.push(...await Promise.all([
      ...Array.from({ length: 40 }, async (_, i) => await first.append(event('a', wave * 40 + i))),
      ...Array.from({ length: 40 }, async (_, i) => await second.append(event('b', wave * 40 + i)))
    ]))
  }
  await second.flush()
  const seqs = results.map((r) => Number(r.seq))
  t.equal(new Set(seqs).size, 640, 'every append resolved with a seq of its own')
  const stored = await h.database.db.selectFrom('audit_events').select(sql<number>`count(*)::int`.as('n'))
    .where('request_id', 'like', '_-%').executeTakeFirstOrThrow()
  t.equal(stored.n, 640, 'and is stored once')
  const verify = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/verify' })
  t.match(verify.json(), { ok: true, firstBroken: null }, 'the chain verifies')
})

t.test('the audit log\'s own reads are withheld with 503 when they cannot be recorded, and answered once they can', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  await log.append({ service: 'gateway', action: 'query', operation: 'data.records.read', actor: { sub: 'u-1', unit: 'CS' }, dataset: 'students', rows: 3 })
  const reads = [
    '/api/v1/audit/events',
    '/api/v1/audit/events?format=csv',
    '/api/v1/audit/events?format=ndjson',
    '/api/v1/audit/persons/2026000001/accesses',
    '/api/v1/audit/reports/access?from=2026-11-01T00:00:00Z&to=2027-01-01T00:00:00Z'
  ]
  const appendFor = log.appendFor
  log.appendFor = async () => { throw new Error('the audit table is gone') }
  t.teardown(() => { log.appendFor = appendFor })
  for (const url of reads) {
    const res = await h.as('auditor', { method: 'GET', url })
    t.equal(res.statusCode, 503, `${url}: ${res.body}`)
    t.match(res.json(), { code: 'DATA_AUDIT_UNAVAILABLE', detail: /cannot be written right now/ })
    t.equal(res.headers['retry-after'], '1')
    t.notMatch(res.body, /u-1|data\.records\.read/, 'nothing of the log in the answer')
  }
  log.appendFor = appendFor
  for (const url of reads) t.equal((await h.as('auditor', { method: 'GET', url })).statusCode, 200, `${url} answered again`)
})
