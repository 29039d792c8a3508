// The checker of "no data without audit" that every test app runs (test/helpers/audit-invariant.ts,
// wired in test/helpers/build.ts) catches what it is there to catch: data sent without an audit
// event, an X-Audit-Event naming no event or another request's, a refusal left unaudited.
import t from 'tap'
import { build } from '../helpers/build.js'
import { dataFixture, MATH_READER } from '../helpers/data.js'
import { violationsOf, type AuditedResponse } from '../helpers/audit-invariant.js'

const read = (over: Partial<AuditedResponse> = {}): AuditedResponse => ({
  method: 'GET', path: '/api/v1/data/students/records', status: 200, requestId: 'req-1', seq: '7', operation: 'data.records.read', ...over
})
const event = (over: Partial<{ seq: string, operation: string, outcome: string, request_id: string | null, details: unknown }> = {}) =>
  ({ seq: '7', operation: 'data.records.read', outcome: 'success', request_id: 'req-1', details: {}, ...over })

t.test('violationsOf: what holds and what does not', async (t) => {
  const log = (...events: ReturnType<typeof event>[]) => new Map(events.map((e) => [e.seq, e]))
  t.same(violationsOf([read()], log(event())), [], 'a read with its event: nothing to say')
  t.match(violationsOf([read({ seq: null })], log()), [/carries no X-Audit-Event: data left without an audit event/], 'data without a header')
  t.match(violationsOf([read()], log()), [/names audit event 7, which is not in the audit log/], 'a header naming no event')
  t.match(violationsOf([read()], log(event({ operation: 'data.schema.read' }))), [/records data\.schema\.read\/success, not data\.records\.read\/success/], 'another operation')
  t.match(violationsOf([read()], log(event({ outcome: 'denied' }))), [/not data\.records\.read\/success/], 'a denial answered with data')
  t.match(violationsOf([read()], log(event({ request_id: 'req-2' }))), [/records request req-2/], 'another request\'s event')
  t.match(violationsOf([read(), read({ requestId: 'req-9' })], log(event())), [/named already/, /records request req-1/], 'one event for two responses')

  const refusal = read({ status: 403, seq: '8' })
  t.same(violationsOf([refusal], log(event({ seq: '8', outcome: 'denied', details: { status: 403 } }))), [], 'an audited refusal')
  t.match(violationsOf([read({ status: 403, seq: null })], log()), [/a refusal of the data path was not audited/], 'an unaudited refusal of the data path')
  t.match(violationsOf([refusal], log(event({ seq: '8', outcome: 'denied', details: { status: 404 } }))), [/with status 404, not a denied with status 403/], 'another status')
  t.same(violationsOf([read({ status: 503, seq: null })], log()), [], 'a 503 without a header: the log itself may be what failed')
  t.same(violationsOf([read({ path: '/open/v1/datasets/x/records', status: 404, seq: null, operation: 'open.records.read' })], log()), [],
    'an open refusal past the per-address audit budget')
  t.match(violationsOf([read({ path: '/open/v1/datasets/x/records', seq: null, operation: 'open.records.read' })], log()), [/data left without an audit event/],
    'an open download without a header')
})

t.test('an app whose data reads lose their audit header fails the invariant', async (t) => {
  let strip = false
  const h = await build(t, {
    extend: (app) => {
      // a data route that forgot to audit, as the client sees it: the rows leave without X-Audit-Event
      app.addHook('onSend', async (request, reply, payload) => {
        if (strip && request.url.startsWith('/api/v1/data/')) reply.removeHeader('x-audit-event')
        return payload
      })
    }
  })
  await dataFixture(h, 10)
  const ok = await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records?limit=3' }, MATH_READER)
  t.equal(ok.statusCode, 200)
  const schema = await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/schema' }, MATH_READER)
  t.equal(schema.statusCode, 200)
  const denied = await h.as('consumer', { method: 'GET', url: '/api/v1/data/nothing/records' }, MATH_READER)
  t.equal(denied.statusCode, 404)
  t.equal(h.auditWatch.responses.length, 3, 'the watch saw the three data responses')
  t.same(await h.auditWatch.check(h.database.db), [], 'every one is in the audit log as it should be')

  strip = true
  const leaked = await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records?limit=2' }, MATH_READER)
  t.equal(leaked.statusCode, 200)
  t.notOk(leaked.headers['x-audit-event'])
  const violations = await h.auditWatch.check(h.database.db)
  t.equal(violations.length, 1)
  t.match(violations[0], /GET \/api\/v1\/data\/students\/records → 200 .* carries no X-Audit-Event: data left without an audit event/)

  await h.auditWatch.checkAndKeep(h.database.db)
  t.throws(() => { h.auditWatch.assert() }, /"No data without audit" is violated \(1\):\n {2}- GET \/api\/v1\/data\/students\/records → 200/,
    'the teardown would fail the test, naming the response')
  h.auditWatch.reset() // this test broke the invariant on purpose
})

t.test('an X-Audit-Event naming an event that is not there fails the invariant', async (t) => {
  let forge = false
  const h = await build(t, {
    extend: (app) => {
      app.addHook('onSend', async (request, reply, payload) => {
        if (forge && request.url.startsWith('/api/v1/data/')) reply.header('x-audit-event', '999999999')
        return payload
      })
    }
  })
  await dataFixture(h, 10)
  forge = true
  const res = await h.as('consumer', { method: 'GET', url: '/api/v1/data/students/records?limit=2' }, MATH_READER)
  t.equal(res.statusCode, 200)
  t.match(await h.auditWatch.check(h.database.db), [/names audit event 999999999, which is not in the audit log/])
  h.auditWatch.reset()
})
