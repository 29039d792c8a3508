import t from 'tap'
import { auditLogOf } from '../../src/audit/log-plugin.js'
import { loadConfig } from '../../src/config.js'
import { recordEvent } from '../../src/platform/events.js'
import { build } from '../helpers/build.js'

t.test('many refusals from one caller raise one alert, traced to it; the auditor acknowledges it', async (t) => {
  const h = await build(t)
  for (let i = 0; i < 25; i++) {
    await h.as('consumer', { method: 'GET', url: '/api/v1/audit/events' }, { sub: 'prober', unit: 'MATH' })
  }
  for (let i = 0; i < 5; i++) await h.as('consumer', { method: 'GET', url: '/api/v1/audit/events' }, { sub: 'curious', unit: 'CS' })
  const list = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts?status=open' })
  t.equal(list.statusCode, 200)
  const { data } = list.json()
  t.equal(data.length, 1, 'only the caller over the threshold')
  t.match(data[0], { rule: 'denials', actor: { sub: 'prober', unit: 'MATH' }, count: 25, status: 'open' })
  t.ok(data[0].lastSeq - data[0].firstSeq >= 24)

  // evaluating again grows the same alert instead of raising another
  await h.as('consumer', { method: 'GET', url: '/api/v1/audit/events' }, { sub: 'prober', unit: 'MATH' })
  await auditLogOf(h.database.db)!.evaluateAlerts()
  const again = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts' })).json().data
  t.match(again, [{ id: data[0].id, count: 26 }])

  const ack = await h.as('auditor', { method: 'POST', url: `/api/v1/audit/alerts/${data[0].id}/ack`, payload: { note: 'penetration test' } }, { sub: 'auditor-1' })
  t.equal(ack.statusCode, 200)
  t.match(ack.json(), { status: 'acknowledged', ackedBy: 'auditor-1', note: 'penetration test' })
  t.same((await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts?status=open' })).json().data, [])
  t.equal((await h.as('auditor', { method: 'POST', url: '/api/v1/audit/alerts/999/ack', payload: {} })).statusCode, 404)
  const acks = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events?action=review' })).json().data
  t.match(acks, [{ operation: 'audit.alert.ack', actor: { sub: 'auditor-1' }, objectId: String(data[0].id) }])
})

t.test('the access report sums who read and changed what, per unit and dataset', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  const at = new Date('2026-11-10T08:00:00Z')
  const read = (sub: string, unit: string, dataset: string, rows: number, action: 'query' | 'export' = 'query') =>
    log.append({ action, operation: `records.${action}`, actor: { sub, unit }, dataset, rows, occurredAt: at })
  await read('a', 'CS', 'students', 10)
  await read('a', 'CS', 'students', 5)
  await read('a', 'CS', 'students', 100, 'export')
  await read('b', 'MATH', 'students', 7)
  await log.append({ action: 'query', operation: 'records.read', actor: { sub: 'a', unit: 'CS' }, dataset: 'students', rows: 1, occurredAt: new Date('2026-10-01T00:00:00Z') })
  const res = await h.as('auditor', { method: 'GET', url: '/api/v1/audit/reports/access?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z' })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), {
    truncated: false,
    data: [
      { unit: 'CS', dataset: 'students', actor: 'a', action: 'export', events: 1, rows: 100 },
      { unit: 'CS', dataset: 'students', actor: 'a', action: 'query', events: 2, rows: 15 },
      { unit: 'MATH', dataset: 'students', actor: 'b', action: 'query', events: 1, rows: 7 }
    ]
  })
  t.equal(res.json().data.length, 3, 'October is outside the period')
  const cs = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/reports/access?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&unit=MATH' })).json()
  t.equal(cs.data.length, 1)
  t.equal((await h.as('auditor', { method: 'GET', url: '/api/v1/audit/reports/access?from=yesterday&to=2026-12-01T00:00:00Z' })).statusCode, 400)
})

t.test('thresholds and windows come from the configuration', async (t) => {
  const h = await build(t, {
    env: { AUDIT_ALERT_DENIALS_THRESHOLD: '3', AUDIT_ALERT_DENIALS_WINDOW_S: '60', AUDIT_ALERT_BURST_THRESHOLD: '4', AUDIT_ALERT_VOLUME_THRESHOLD: '50' }
  })
  const log = auditLogOf(h.database.db)!
  for (let i = 0; i < 3; i++) await h.as('consumer', { method: 'GET', url: '/api/v1/audit/events' }, { sub: 'prober', unit: 'MATH' })
  for (let i = 0; i < 2; i++) await h.as('consumer', { method: 'GET', url: '/api/v1/audit/events' }, { sub: 'curious', unit: 'CS' })
  for (let i = 0; i < 4; i++) await log.append({ action: 'query', operation: 'records.read', actor: { sub: 'reader', unit: 'CS' }, dataset: 'students', rows: 1 })
  await log.append({ action: 'export', operation: 'records.export', actor: { sub: 'exporter', unit: 'LAW' }, dataset: 'students', rows: 60 })
  await log.evaluateAlerts()
  const alerts = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts' })).json().data as { rule: string, actor: { sub: string }, count: number }[]
  t.match(alerts.find((a) => a.rule === 'denials'), { actor: { sub: 'prober' }, count: 3 }, 'three refusals are enough')
  t.notOk(alerts.some((a) => a.actor.sub === 'curious'), 'two are not')
  t.match(alerts.find((a) => a.rule === 'burst'), { actor: { sub: 'reader' }, count: 4 })
  t.match(alerts.find((a) => a.rule === 'volume'), { actor: { sub: 'exporter' }, count: 60 })
  t.same((await h.as('auditor', { method: 'GET', url: '/api/v1/audit/blacklist' })).json().data, [], 'no automatic block where BLACKLIST_AUTO_MINUTES is 0')
  t.throws(() => loadConfig({ AUDIT_ALERT_DENIALS_THRESHOLD: '0' }), /AUDIT_ALERT_DENIALS_THRESHOLD/)
  t.throws(() => loadConfig({ BLACKLIST_AUTO_MINUTES: '-1' }), /BLACKLIST_AUTO_MINUTES/)
})

t.test('each overdue share request review raises its own alert, traced to the unit that must review', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  const overdue = async (id: string, unit: string) => await recordEvent(h.database.db, {
    service: 'authorization',
    action: 'share_request.review_overdue',
    actor: { sub: 'system:deadlines', unit, roles: [] },
    objectType: 'share_request',
    objectId: id,
    details: { awaiting: ['producer'] }
  })
  await overdue('5f0c6b1e-2d4a-4c3b-9e8f-1a2b3c4d5e6f', 'CS')
  await log.evaluateAlerts()
  let alerts = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts' })).json().data
  t.match(alerts, [{ rule: 'overdue_review', actor: { sub: 'system:deadlines', unit: 'CS' }, count: 1, status: 'open' }])
  t.equal(alerts.length, 1)
  const event = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/events?actor=system:deadlines' })).json().data[0]
  t.equal(alerts[0].firstSeq, event.seq, 'the alert points at the event')

  await log.evaluateAlerts()
  await overdue('7d1f0e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6', 'office')
  await log.evaluateAlerts()
  alerts = (await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts' })).json().data
  t.equal(alerts.length, 2, 'one per event, never twice for one')
  t.match(alerts[1], { rule: 'overdue_review', actor: { unit: 'office' } })
})
