import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { build, type TestApp } from '../helpers/build.js'

async function seed (h: TestApp) {
  const log = auditLogOf(h.database.db)!
  const at = (d: string) => new Date(`2026-11-${d}T08:00:00Z`)
  await log.append({ service: 'gateway', action: 'query', operation: 'records.read', actor: { sub: 'alice', unit: 'CS', roles: ['consumer'] }, dataset: 'students', fields: ['name'], rows: 10, grantId: 'g-1', occurredAt: at('01') })
  await log.append({ service: 'gateway', action: 'export', operation: 'records.export', actor: { sub: 'alice', unit: 'CS', roles: ['consumer'] }, dataset: 'students', objectId: '=HYPERLINK("x")', rows: 500, occurredAt: at('02') })
  await log.append({ service: 'gateway', action: 'query', operation: 'records.read', actor: { sub: 'bob', unit: 'MATH', roles: ['consumer'] }, dataset: 'staff', rows: 3, occurredAt: at('03') })
  await log.append({ service: 'gateway', action: 'denied', operation: 'GET /api/v1/data/{dataset}/records', actor: { sub: 'bob', unit: 'MATH' }, dataset: 'students', occurredAt: at('04') })
}

const get = async (h: TestApp, query: string, headers: Record<string, string> = {}) =>
  await h.as('auditor', { method: 'GET', url: `/api/v1/audit/events${query}`, headers })

t.test('events filter by actor, unit, dataset, action, outcome and time', async (t) => {
  const h = await build(t)
  await seed(h)
  const ops = async (query: string) => (await get(h, query)).json().data.map((e: { actor: { sub: string }, action: string }) => `${e.actor.sub}:${e.action}`)
  t.same(await ops('?actor=alice'), ['alice:query', 'alice:export'])
  t.same(await ops('?unit=MATH'), ['bob:query', 'bob:denied'])
  t.same(await ops('?dataset=students'), ['alice:query', 'alice:export', 'bob:denied'])
  t.same(await ops('?action=export'), ['alice:export'])
  t.same(await ops('?outcome=denied&dataset=students'), ['bob:denied'])
  t.same(await ops('?dataset=students&from=2026-11-02T00:00:00Z&to=2026-11-04T00:00:00Z'), ['alice:export'])
  const bad = await get(h, '?action=steal')
  t.equal(bad.statusCode, 400)
})

t.test('pages follow the chain with a cursor', async (t) => {
  const h = await build(t)
  await seed(h)
  const first = (await get(h, '?limit=2&dataset=students')).json()
  t.equal(first.data.length, 2)
  const second = (await get(h, `?limit=2&dataset=students&cursor=${first.nextCursor}`)).json()
  t.same(second.data.map((e: { action: string }) => e.action), ['denied'])
  t.equal(second.nextCursor, null)
  t.equal((await get(h, '?cursor=nope')).statusCode, 400)
})

t.test('exports as CSV and NDJSON, by format or Accept, are audited as exports', async (t) => {
  const h = await build(t)
  await seed(h)
  const csv = await get(h, '?format=csv&dataset=students')
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  const lines = csv.body.trim().split('\r\n')
  t.equal(lines.length, 4, 'header and three events')
  t.match(lines[0], /^seq,occurredAt,recordedAt,service,action/)
  t.match(lines[2], /,export,records\.export,success,alice,CS,consumer,,,,/)
  t.match(lines[2], /,"'=HYPERLINK\(""x""\)",/, 'formula injection is defused')
  const ndjson = await get(h, '?unit=CS', { accept: 'application/x-ndjson' })
  t.match(ndjson.headers['content-type'], /application\/x-ndjson/)
  const parsed = ndjson.body.trim().split('\n').map((l) => JSON.parse(l) as { actor: { sub: string } })
  t.same(parsed.map((e) => e.actor.sub), ['alice', 'alice'])
  const exports = (await get(h, '?action=export&actor=tester')).json().data
  t.match(exports, [{ operation: 'audit.events.export', rows: 3, details: { format: 'csv' } }, { rows: 2, details: { format: 'ndjson' } }])
})
