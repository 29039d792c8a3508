import { sql } from 'kysely'
import t from 'tap'
import { auditLogOf, type AuditLog } from '../../src/audit/log-plugin.js'
import { createAuditWriter } from '../../src/audit/writer.js'
import { loadConfig } from '../../src/config.js'
import { recordEvent } from '../../src/platform/events.js'
import { build, type TestApp } from '../helpers/build.js'
import { insertDataset } from '../helpers/catalog.js'
import { insertGrant } from '../helpers/grants.js'

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

type Alert = { id: number, rule: string, actor: { sub: string, unit: string | null }, count: number, firstSeq: number, lastSeq: number, details: Record<string, unknown> }

const alertsOf = async (h: TestApp, rule: string): Promise<Alert[]> =>
  ((await h.as('auditor', { method: 'GET', url: '/api/v1/audit/alerts?limit=100' })).json().data as Alert[]).filter((a) => a.rule === rule)

/** A read (or export) of `dataset` by `sub` of CS, as the data path will record it. */
function reader (log: AuditLog) {
  return async (sub: string, dataset: string, options: { at?: string, rows?: number, action?: 'query' | 'export', grantId?: string, outcome?: 'success' | 'failure', unit?: string } = {}) => {
    const action = options.action ?? 'query'
    return await log.append({
      action,
      operation: `records.${action}`,
      outcome: options.outcome ?? 'success',
      actor: { sub, unit: options.unit ?? 'CS' },
      dataset,
      rows: options.rows ?? 1,
      grantId: options.grantId ?? null,
      ...(options.at !== undefined ? { occurredAt: new Date(options.at) } : {})
    })
  }
}

/** Datasets of every kind the rules tell apart. */
async function datasets (h: TestApp) {
  await insertDataset(h, { code: 'students' }) // ordinary, no sensitive PI
  await insertDataset(h, { code: 'grades', grade: 'important' })
  await insertDataset(h, { code: 'minors', children_pi: true })
  await insertDataset(h, { code: 'health', sensitive_pi: true })
}

// campus time is UTC+8: 2026-11-11 is a Wednesday, 2026-11-14 a Saturday
const WED_0759 = '2026-11-10T23:59:00Z'
const WED_0800 = '2026-11-11T00:00:00Z'
const WED_1000 = '2026-11-11T02:00:00Z'
const WED_1959 = '2026-11-11T11:59:00Z'
const WED_2000 = '2026-11-11T12:00:00Z'
const WED_2130 = '2026-11-11T13:30:00Z'
const SAT_1100 = '2026-11-14T03:00:00Z'

t.test('off_hours: important or children\'s data read outside working hours on the campus calendar, once per caller and window', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  const read = reader(log)
  await datasets(h)
  const night = [await read('night', 'grades', { at: WED_2130 }), await read('night', 'minors', { at: SAT_1100, action: 'export' })]
  for (const at of [WED_0800, WED_1000, WED_1959]) await read('day', 'grades', { at })
  await read('day', 'minors', { at: WED_1000, action: 'export' })
  await read('edge', 'grades', { at: WED_0759 })
  await read('edge', 'grades', { at: WED_2000 })
  await read('ordinary', 'students', { at: WED_2130 })
  await read('ordinary', 'health', { at: SAT_1100 }) // sensitive, but neither important nor children's
  await read('failed', 'grades', { at: WED_2130, outcome: 'failure' })
  await log.append({ action: 'update', operation: 'records.update', actor: { sub: 'writer', unit: 'CS' }, dataset: 'grades', rows: 1, occurredAt: new Date(WED_2130) })
  await log.evaluateAlerts()

  const alerts = await alertsOf(h, 'off_hours')
  t.same(alerts.map((a) => a.actor.sub).sort(), ['edge', 'night'], 'only reads outside 08:00–20:00 and at weekends, of important or children\'s data')
  const n = alerts.find((a) => a.actor.sub === 'night')!
  t.match(n, { actor: { unit: 'CS' }, count: 2, firstSeq: Number(night[0]!.seq), lastSeq: Number(night[1]!.seq), details: { datasets: ['grades', 'minors'] } })
  t.match(alerts.find((a) => a.actor.sub === 'edge'), { count: 2 }, '07:59 and 20:00 are outside')
  t.same(await alertsOf(h, 'unusual_rate'), [], 'a first burst of a few reads is no unusual rate')

  // a later off-hours read grows the caller's alert within the window
  const later = await read('night', 'grades', { at: WED_2130 })
  await log.evaluateAlerts()
  t.match(await alertsOf(h, 'off_hours'), [{ actor: { sub: 'edge' } }, { id: n.id, count: 3, lastSeq: Number(later.seq) }])

  // once the window moves on, the events an alert covers raise no second one; a new event does
  await sql`update audit_alerts set bucket = bucket - 1 where rule = 'off_hours'`.execute(h.database.db)
  await log.evaluateAlerts()
  t.equal((await alertsOf(h, 'off_hours')).length, 2, 'no second alert for the same events in the next window')
  const another = await read('night', 'minors', { at: SAT_1100 })
  await log.evaluateAlerts()
  const next = (await alertsOf(h, 'off_hours')).filter((a) => a.actor.sub === 'night')
  t.equal(next.length, 2, 'a new off-hours read in the next window raises a new alert')
  t.match(next[1], { count: 4, lastSeq: Number(another.seq) })
})

t.test('sensitive_export: rows of sensitive or children\'s personal information exported by one caller reach the threshold', async (t) => {
  const h = await build(t)
  const read = reader(auditLogOf(h.database.db)!)
  await datasets(h)
  await read('under', 'health', { action: 'export', rows: 600 })
  await read('under', 'health', { action: 'export', rows: 399 })
  await read('reaches', 'health', { action: 'export', rows: 600 })
  await read('reaches', 'minors', { action: 'export', rows: 400 })
  await read('reader', 'health', { rows: 5000 }) // a query, not an export
  await read('plain', 'students', { action: 'export', rows: 5000 })
  await read('plain', 'grades', { action: 'export', rows: 5000 }) // important, but no sensitive PI
  await read('failed', 'health', { action: 'export', rows: 5000, outcome: 'failure' })
  await auditLogOf(h.database.db)!.evaluateAlerts()
  let alerts = await alertsOf(h, 'sensitive_export')
  t.equal(alerts.length, 1, '999 rows are not enough; queries, ordinary or merely important datasets and failures do not count')
  t.match(alerts[0], { actor: { sub: 'reaches', unit: 'CS' }, count: 1000, details: { datasets: ['health', 'minors'] } })

  await read('under', 'health', { action: 'export', rows: 1 })
  await auditLogOf(h.database.db)!.evaluateAlerts()
  alerts = await alertsOf(h, 'sensitive_export')
  t.match(alerts.find((a) => a.actor.sub === 'under'), { count: 1000 }, 'the thousandth row raises it')
})

t.test('unusual_rate: a caller far above its own average over the baseline, and at least the minimum', async (t) => {
  // windows of 5 minutes, a baseline of the hour before, twice the average, at least 5 reads
  const h = await build(t, { env: { AUDIT_ALERT_UNUSUAL_RATE_BASELINE_S: '3600', AUDIT_ALERT_UNUSUAL_RATE_MULTIPLE: '2', AUDIT_ALERT_UNUSUAL_RATE_MIN_EVENTS: '5' } })
  const log = auditLogOf(h.database.db)!
  const read = reader(log)
  const recordedAgo = (minutes: number) => createAuditWriter({
    db: h.database.db, hash: 'sha256', signingKey: h.key, checkpointEvents: 1000, checkpointSeconds: 60, now: () => new Date(Date.now() - minutes * 60_000)
  })
  const earlier = recordedAgo(20)
  const longAgo = recordedAgo(120)
  const many = async (writer: { append: AuditLog['append'] }, sub: string, count: number) => {
    await Promise.all(Array.from({ length: count }, () => writer.append({ action: 'query', operation: 'records.query', actor: { sub, unit: 'CS' }, dataset: 'students', rows: 1 })))
  }
  // 36 reads in the hour before: an average of 3 per 5 minutes, so 6 now is exactly twice that
  await many(earlier, 'steady', 36)
  await many(earlier, 'rising', 35)
  await many(longAgo, 'old-timer', 40) // before the baseline
  await many(earlier, 'other-unit', 36)
  for (const sub of ['steady', 'rising', 'old-timer', 'burst']) {
    for (let i = 0; i < (sub === 'burst' ? 5 : 6); i++) await read(sub, 'students')
  }
  for (let i = 0; i < 6; i++) await read('other-unit', 'students', { unit: 'MATH' }) // its baseline was in CS: another caller
  for (let i = 0; i < 4; i++) await read('newcomer', 'students')
  await log.evaluateAlerts()

  const alerts = await alertsOf(h, 'unusual_rate')
  t.same(alerts.map((a) => a.actor.sub).sort(), ['burst', 'old-timer', 'other-unit', 'rising'],
    'steady stays at twice its average; newcomer is under the minimum; the baseline is the caller\'s own, in its period')
  t.match(alerts.find((a) => a.actor.sub === 'rising'), {
    actor: { unit: 'CS' }, count: 6, details: { baselineEvents: 35, baselinePerWindow: 2.92, multiple: 2, windowSeconds: 300, baselineSeconds: 3600 }
  })
  t.match(alerts.find((a) => a.actor.sub === 'burst'), { count: 5, details: { baselineEvents: 0 } })
  t.match(alerts.find((a) => a.actor.sub === 'other-unit'), { actor: { unit: 'MATH' }, details: { baselineEvents: 0 } })
  const burst = alerts.find((a) => a.actor.sub === 'burst')!
  t.equal(burst.lastSeq - burst.firstSeq, 4, 'it names its events')

  await read('burst', 'students')
  await log.evaluateAlerts()
  t.match((await alertsOf(h, 'unusual_rate')).find((a) => a.actor.sub === 'burst'), { id: burst.id, count: 6 }, 'the alert grows')
  t.equal((await alertsOf(h, 'unusual_rate')).length, 4)
})

t.test('quota: rows read under one grant on one campus day beyond its daily row quota', async (t) => {
  const h = await build(t)
  const log = auditLogOf(h.database.db)!
  const read = reader(log)
  const quota = async (rows: number) => (await insertGrant(h, { request: { daily_row_quota: rows } })).grant.id
  const met = await quota(1000)
  const shared = await quota(1000)
  const split = await quota(500)
  const solo = await quota(1000)
  // the campus day is that of occurred_at: Wednesday 2026-11-11, noon, and the Tuesday before
  const at = '2026-11-11T04:00:00Z'
  const dayBefore = '2026-11-10T04:00:00Z'

  await read('m1', 'students', { grantId: met, rows: 600, unit: 'MATH', at })
  await read('m1', 'students', { grantId: met, rows: 400, unit: 'MATH', action: 'export', at })
  await read('m1', 'students', { grantId: met, rows: 5000, unit: 'MATH', outcome: 'failure', at })
  const first = await read('m1', 'students', { grantId: shared, rows: 600, unit: 'MATH', at })
  const last = await read('m2', 'students', { grantId: shared, rows: 401, unit: 'MATH', at })
  await read('m3', 'students', { grantId: split, rows: 400, unit: 'MATH', at: dayBefore })
  await read('m3', 'students', { grantId: split, rows: 400, unit: 'MATH', at })
  await read('m4', 'students', { grantId: solo, rows: 1001, unit: 'MATH', at })
  await read('m5', 'students', { grantId: 'not-a-grant', rows: 50_000, unit: 'MATH', at })
  await log.evaluateAlerts()

  let alerts = await alertsOf(h, 'quota')
  t.equal(alerts.length, 2, 'a quota met is not exceeded; two days under it are two days; failures and unknown grants do not count')
  const over = alerts.find((a) => a.details.grantId === shared)!
  t.match(over, {
    actor: { sub: `grant:${shared}`, unit: 'MATH' },
    count: 1001,
    firstSeq: Number(first.seq),
    lastSeq: Number(last.seq),
    details: { dataset: 'students', dailyRowQuota: 1000, callers: ['m1', 'm2'], day: '2026-11-11' }
  }, 'several callers: the grant and its unit')
  t.match(alerts.find((a) => a.details.grantId === solo), { actor: { sub: 'm4', unit: 'MATH' }, count: 1001 }, 'one caller: that caller')

  // later reads grow the day's alert; a read under another grant is summed on its own
  await read('m2', 'students', { grantId: shared, rows: 99, unit: 'MATH', at })
  await read('m1', 'students', { grantId: met, rows: 1, unit: 'MATH', at })
  await log.evaluateAlerts()
  alerts = await alertsOf(h, 'quota')
  t.match(alerts.find((a) => a.details.grantId === shared), { id: over.id, count: 1100 })
  t.match(alerts.find((a) => a.details.grantId === met), { actor: { sub: 'm1' }, count: 1001 }, 'the quota exceeded by one row')
  t.equal(alerts.length, 3)
})

t.test('the new rules\' thresholds and hours come from the configuration', async (t) => {
  const h = await build(t, {
    env: {
      AUDIT_ALERT_WORK_START_HOUR: '7',
      AUDIT_ALERT_WORK_END_HOUR: '22',
      AUDIT_ALERT_OFF_HOURS_THRESHOLD: '2',
      AUDIT_ALERT_SENSITIVE_EXPORT_THRESHOLD: '500',
      AUDIT_ALERT_QUOTA_PERCENT: '80'
    }
  })
  const log = auditLogOf(h.database.db)!
  const read = reader(log)
  await datasets(h)
  await read('night', 'grades', { at: WED_2130 }) // working hours until 22:00
  await read('night', 'grades', { at: SAT_1100 })
  await read('early', 'grades', { at: '2026-11-10T22:30:00Z' }) // 06:30
  await read('early', 'minors', { at: SAT_1100 })
  await read('exporter', 'health', { action: 'export', rows: 500 })
  const grant = (await insertGrant(h, { request: { daily_row_quota: 1000 } })).grant.id
  await read('m1', 'students', { grantId: grant, rows: 801, unit: 'MATH', at: WED_1000 })
  await log.evaluateAlerts()
  t.match(await alertsOf(h, 'off_hours'), [{ actor: { sub: 'early' }, count: 2 }], 'two off-hours reads needed, and 21:30 is within hours')
  t.match(await alertsOf(h, 'sensitive_export'), [{ actor: { sub: 'exporter' }, count: 500 }])
  t.match(await alertsOf(h, 'quota'), [{ actor: { sub: 'm1' }, count: 801, details: { grantId: grant } }], 'beyond 80% of the quota')

  t.throws(() => loadConfig({ AUDIT_ALERT_WORK_START_HOUR: '20', AUDIT_ALERT_WORK_END_HOUR: '8' }), /AUDIT_ALERT_WORK_END_HOUR: must be after AUDIT_ALERT_WORK_START_HOUR/)
  t.throws(() => loadConfig({ AUDIT_ALERT_WORK_END_HOUR: '25' }), /AUDIT_ALERT_WORK_END_HOUR/)
  t.throws(() => loadConfig({ AUDIT_ALERT_UNUSUAL_RATE_MULTIPLE: '0.5' }), /AUDIT_ALERT_UNUSUAL_RATE_MULTIPLE/)
  t.equal(loadConfig({ AUDIT_ALERT_UNUSUAL_RATE_MULTIPLE: '2.5' }).AUDIT_ALERT_UNUSUAL_RATE_MULTIPLE, 2.5)
})

t.test('off_hours follows the campus calendar: a holiday is off all day, a make-up Saturday is a working day', async (t) => {
  const h = await build(t, { env: { CAMPUS_HOLIDAYS: '2026-11-11', CAMPUS_WORKDAYS: '2026-11-14' } })
  const log = auditLogOf(h.database.db)!
  const read = reader(log)
  await datasets(h)
  await read('holiday', 'grades', { at: WED_1000 }) // Wednesday 10:00, a holiday
  await read('makeup', 'grades', { at: SAT_1100 }) // Saturday 11:00, worked instead
  await read('makeup', 'grades', { at: '2026-11-14T13:00:00Z' }) // but 21:00 that Saturday is still after hours
  await log.evaluateAlerts()
  t.same((await alertsOf(h, 'off_hours')).map((a) => [a.actor.sub, a.count]).sort(), [['holiday', 1], ['makeup', 1]])
})
