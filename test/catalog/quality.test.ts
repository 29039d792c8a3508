import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import {
  SCALE_THRESHOLDS, buildQualityReport, freshness, samplingPlan, scaleFlags, windowStart, type QualityFacts
} from '../../src/catalog/quality/report.js'
import type { Frequency } from '../../src/platform/vocabulary.js'
import { build, createUnit, type TestApp } from '../helpers/build.js'
import { STUDENT_FIELDS, insertDataset } from '../helpers/catalog.js'

const DAY = 86_400_000
const ago = (ms: number) => new Date(Date.now() - ms)

// Records and batches are written straight through Kysely: these tests must not depend on ingest.
interface RecordFixture { key: string, data: Record<string, unknown>, person?: string | null, createdAt?: Date }

async function insertRecords (h: TestApp, dataset: string, rows: RecordFixture[]) {
  const batch = randomUUID()
  await h.database.db.insertInto('records').values(rows.map((r) => ({
    dataset_code: dataset,
    record_key: r.key,
    data: JSON.stringify(r.data),
    person_key: r.person === undefined ? r.key : r.person,
    batch_id: batch,
    source_unit: 'CS',
    source_sub: 'fixture',
    ...(r.createdAt ? { created_at: r.createdAt, updated_at: r.createdAt } : {})
  }))).execute()
}

interface BatchFixture { received: number, accepted: number, rejected: number, errors?: Record<string, number>, at: Date }

async function insertBatch (h: TestApp, dataset: string, b: BatchFixture) {
  const id = randomUUID()
  await h.database.db.insertInto('ingest_batches').values({
    id,
    dataset_code: dataset,
    unit: 'CS',
    sub: 'fixture',
    client: null,
    format: 'json',
    received: b.received,
    accepted: b.accepted,
    rejected: b.rejected,
    errors: JSON.stringify(b.errors ?? {}),
    created_at: b.at
  }).execute()
  return id
}

const getQuality = (h: TestApp, code: string, query = '') =>
  h.as('steward', { method: 'GET', url: `/api/v1/datasets/${code}/quality${query}` }, { unit: 'CS' })

t.test('completeness: the share of records with a non-null, non-empty value, per field', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  await insertRecords(h, 'students', [
    { key: '2024000001', data: { student_id: '2024000001', name: 'A', phone: '13800000000', email: 'a@example.edu.cn', college: 'CS', year: 2024, gpa: 3.5, active: false, enrolled_on: '2024-09-01' } },
    { key: '2024000002', data: { student_id: '2024000002', name: 'B', phone: '', email: null, college: 'MATH', year: 0, gpa: 0 } },
    { key: '2024000003', data: { student_id: '2024000003', name: '', college: 'LAW', active: true } },
    { key: '2024000004', data: { student_id: '2024000004', name: 'D', college: 'CS', id_number: '11010519491231002X' } }
  ])
  const res = await getQuality(h, 'students')
  t.equal(res.statusCode, 200, res.body)
  const { rows, completeness, anomalies } = res.json()
  t.equal(rows, 4)
  t.match(completeness, { method: 'exact', samplePercent: null, basisRows: 4 })
  // false and 0 are values; '', null and an absent key are not
  const filled: Record<string, number> = {
    student_id: 4, name: 3, id_number: 1, phone: 1, email: 1, college: 4, year: 2, gpa: 2, active: 2, enrolled_on: 1, updated: 0
  }
  t.same(completeness.fields, STUDENT_FIELDS.map((f) => ({ field: f.name, required: f.required, filled: filled[f.name], ratio: filled[f.name]! / 4 })))
  t.equal(completeness.overall, 21 / 44)
  t.same(anomalies.filter((a: { kind: string }) => a.kind === 'required_field_missing').map((a: { detail: string }) => a.detail),
    ['required field name is empty in 1 stored records'])
})

t.test('validity: accepted and rejected over all time, the window and per day; the fields rejections name', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  const batches: BatchFixture[] = [
    { received: 100, accepted: 88, rejected: 12, errors: { phone: 8, email: 4 }, at: ago(3600_000) },
    { received: 50, accepted: 50, rejected: 0, at: ago(3 * DAY) },
    { received: 20, accepted: 10, rejected: 10, errors: { college: 10 }, at: ago(40 * DAY) }, // before the window
    { received: 5, accepted: 0, rejected: 5, errors: { phone: 5 }, at: ago(1800_000) }
  ]
  const ids = []
  for (const b of batches) ids.push(await insertBatch(h, 'students', b))
  const { validity, freshness, anomalies } = (await getQuality(h, 'students')).json()
  t.equal(validity.windowDays, 30)
  t.equal(validity.since, windowStart(new Date()).toISOString())
  t.same(validity.allTime, { batches: 4, received: 175, accepted: 148, rejected: 27, rejectionRate: 27 / 175 })
  t.same(validity.window, { batches: 3, received: 155, accepted: 138, rejected: 17, rejectionRate: 17 / 155 })
  t.same(validity.topRejectedFields, [{ field: 'phone', errors: 13 }, { field: 'email', errors: 4 }])

  const expected = new Map<string, { batches: number, received: number, accepted: number, rejected: number }>()
  for (const b of batches.filter((b) => b.at >= new Date(validity.since))) {
    const day = b.at.toISOString().slice(0, 10)
    const d = expected.get(day) ?? { batches: 0, received: 0, accepted: 0, rejected: 0 }
    expected.set(day, { batches: d.batches + 1, received: d.received + b.received, accepted: d.accepted + b.accepted, rejected: d.rejected + b.rejected })
  }
  t.same(validity.daily, [...expected].sort().map(([day, c]) => ({ day, ...c, rejectionRate: c.rejected / c.received })))

  // the all-rejected batch is not an ingest: freshness counts the last batch that accepted something
  t.equal(freshness.lastIngestAt, batches[0]!.at.toISOString())
  t.equal(freshness.stale, false)
  t.equal(freshness.ageDays, 0.04)
  t.same(anomalies.filter((a: { kind: string }) => a.kind === 'high_rejection_rate'), [
    { kind: 'high_rejection_rate', at: batches[3]!.at.toISOString(), detail: `batch ${ids[3]} rejected 5 of 5 records (100.0 %, limit 10.0 %)` },
    { kind: 'high_rejection_rate', at: batches[0]!.at.toISOString(), detail: `batch ${ids[0]} rejected 12 of 100 records (12.0 %, limit 10.0 %)` }
  ], 'batches over 10 % in the window, newest first')
})

t.test('freshness against the update frequency', async (t) => {
  const h = await build(t)
  const cases: Array<{ code: string, update_frequency: Frequency, lastAt: Date | null, stale: boolean }> = [
    { code: 'weekly_late', update_frequency: 'weekly', lastAt: ago(9 * DAY), stale: true },
    { code: 'weekly_ok', update_frequency: 'weekly', lastAt: ago(7 * DAY), stale: false },
    { code: 'daily_empty', update_frequency: 'daily', lastAt: null, stale: true },
    { code: 'on_demand_empty', update_frequency: 'on_demand', lastAt: null, stale: false },
    { code: 'on_demand_old', update_frequency: 'on_demand', lastAt: ago(4000 * DAY), stale: false }
  ]
  for (const c of cases) {
    await insertDataset(h, { code: c.code, update_frequency: c.update_frequency })
    if (c.lastAt) await insertBatch(h, c.code, { received: 1, accepted: 1, rejected: 0, at: c.lastAt })
  }
  for (const c of cases) {
    const { freshness, anomalies } = (await getQuality(h, c.code)).json()
    t.equal(freshness.stale, c.stale, c.code)
    t.equal(freshness.lastIngestAt, c.lastAt?.toISOString() ?? null, c.code)
    t.equal(anomalies.some((a: { kind: string }) => a.kind === 'stale'), c.stale, `${c.code}: stale anomaly`)
  }
  const late = (await getQuality(h, 'weekly_late')).json()
  t.match(late.freshness, { updateFrequency: 'weekly', maxAgeDays: 8, ageDays: 9, staleSince: new Date(cases[0]!.lastAt!.getTime() + 8 * DAY).toISOString() })
  t.match((await getQuality(h, 'on_demand_empty')).json().freshness, { maxAgeDays: null, ageDays: null, staleSince: null })
})

t.test('persons: distinct person keys, records without one, and an undeclared key', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  await insertRecords(h, 'students', [
    { key: 'r1', data: {}, person: 'p1' },
    { key: 'r2', data: {}, person: 'p1' },
    { key: 'r3', data: {}, person: 'p2' },
    { key: 'r4', data: {}, person: 'p3' },
    { key: 'r5', data: {}, person: null }
  ])
  const report = (await getQuality(h, 'students')).json()
  t.equal(report.rows, 5)
  t.same(report.persons, {
    personKey: 'student_id',
    count: 3,
    rowsWithoutPersonKey: 1,
    flags: { protectionOfficerRequired: false, registrationRequired: false, protectionLevel3Required: false, yearlyAuditRequired: false },
    thresholds: { protectionOfficer: 200_000, protectionLevel3: 1_000_000 }
  })
  t.ok(report.anomalies.some((a: { kind: string, detail: string }) => a.kind === 'person_key_missing' && a.detail.startsWith('1 records')))

  await insertDataset(h, { code: 'keyless', person_key: null, holds_pi: true })
  const keyless = (await getQuality(h, 'keyless')).json()
  t.match(keyless.persons, { personKey: null, count: null, rowsWithoutPersonKey: null })
  t.ok(keyless.anomalies.some((a: { kind: string }) => a.kind === 'person_key_undeclared'))
})

t.test('a thousand records: exact counts in SQL, and a TABLESAMPLE on request', async (t) => {
  const h = await build(t)
  await insertDataset(h, { code: 'big' })
  await sql`
    insert into records (dataset_code, record_key, data, person_key, batch_id, source_unit, source_sub)
    select 'big', i::text,
      jsonb_build_object('student_id', lpad(i::text, 10, '0'), 'name', case when i % 2 = 0 then 'N' || i end,
                         'phone', case when i % 4 = 0 then '' else '13800000000' end),
      'p' || (i % 300), ${randomUUID()}::uuid, 'CS', 'fixture'
    from generate_series(1, 1000) as i
  `.execute(h.database.db)
  const exact = (await getQuality(h, 'big')).json()
  t.equal(exact.rows, 1000)
  t.equal(exact.persons.count, 300)
  t.match(exact.completeness, { method: 'exact', basisRows: 1000 })
  const ratio = (report: { completeness: { fields: { field: string, ratio: number }[] } }, name: string) =>
    report.completeness.fields.find((f) => f.field === name)!.ratio
  t.equal(ratio(exact, 'student_id'), 1)
  t.equal(ratio(exact, 'name'), 0.5)
  t.equal(ratio(exact, 'phone'), 0.75)
  t.equal(ratio(exact, 'email'), 0)

  t.match((await getQuality(h, 'big', '?samplePercent=100')).json().completeness, { method: 'exact', basisRows: 1000 })
  const sampled = (await getQuality(h, 'big', '?samplePercent=50')).json()
  t.match(sampled.completeness, { method: 'sample', samplePercent: 50 })
  t.ok(sampled.completeness.basisRows <= 1000, `sampled ${sampled.completeness.basisRows} records`)
  for (const f of sampled.completeness.fields) t.ok(f.filled <= sampled.completeness.basisRows, f.field)
  t.equal(sampled.rows, 1000, 'the row count is exact whatever the sample')
  t.equal(sampled.persons.count, 300, 'so is the person count')
})

t.test('retention: records first stored before now − retention_days', async (t) => {
  const h = await build(t)
  await insertDataset(h, { code: 'loans', retention_days: 30 })
  const oldest = ago(45 * DAY)
  await insertRecords(h, 'loans', [
    { key: 'a', data: {}, createdAt: oldest },
    { key: 'b', data: {}, createdAt: ago(40 * DAY) },
    { key: 'c', data: {}, createdAt: ago(10 * DAY) }
  ])
  const res = await h.as('steward', { method: 'GET', url: '/api/v1/datasets/loans/retention' }, { unit: 'CS' })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json()
  t.match(body, {
    dataset: 'loans',
    rows: 3,
    retentionDays: 30,
    expiredRows: 2,
    oldestCreatedAt: oldest.toISOString(),
    oldestExpiresAt: new Date(oldest.getTime() + 30 * DAY).toISOString()
  })
  t.ok(Math.abs(Date.parse(body.cutoff) - (Date.now() - 30 * DAY)) < 60_000, 'cutoff is 30 days ago')

  const report = (await getQuality(h, 'loans')).json()
  t.match(report.retention, { retentionDays: 30, expiredRows: 2, oldestCreatedAt: oldest.toISOString() })
  t.ok(report.anomalies.some((a: { kind: string, detail: string }) => a.kind === 'retention_expired' && a.detail.startsWith('2 records')))

  await insertDataset(h, { code: 'empty' })
  t.match((await h.as('auditor', { method: 'GET', url: '/api/v1/datasets/empty/retention' })).json(),
    { rows: 0, expiredRows: 0, oldestCreatedAt: null, oldestExpiresAt: null })
})

t.test('the catalog-wide list of datasets past retention, paginated', async (t) => {
  const h = await build(t)
  await createUnit(h, 'LIB')
  for (const [code, days] of [['a_loans', 30], ['b_recent', 30], ['c_visits', 7]] as const) {
    await insertDataset(h, { code, retention_days: days, producer_unit: code === 'c_visits' ? 'LIB' : 'CS' })
  }
  await insertRecords(h, 'a_loans', [{ key: '1', data: {}, createdAt: ago(31 * DAY) }, { key: '2', data: {}, createdAt: ago(DAY) }])
  await insertRecords(h, 'b_recent', [{ key: '1', data: {}, createdAt: ago(29 * DAY) }])
  await insertRecords(h, 'c_visits', [{ key: '1', data: {}, createdAt: ago(8 * DAY) }, { key: '2', data: {}, createdAt: ago(9 * DAY) }])

  const first = await h.as('security_admin', { method: 'GET', url: '/api/v1/retention/expired?limit=1' })
  t.equal(first.statusCode, 200, first.body)
  t.match(first.json().data, [{ dataset: 'a_loans', producerUnit: 'CS', retentionDays: 30, expiredRows: 1 }])
  t.equal(first.json().data.length, 1)
  const second = (await h.as('supervisor', { method: 'GET', url: `/api/v1/retention/expired?limit=1&cursor=${first.json().nextCursor}` })).json()
  t.match(second, { data: [{ dataset: 'c_visits', producerUnit: 'LIB', expiredRows: 2 }], nextCursor: null })
  t.equal((await h.as('steward', { method: 'GET', url: '/api/v1/retention/expired' }, { unit: 'CS' })).statusCode, 403)
  t.equal((await h.as('auditor', { method: 'GET', url: '/api/v1/retention/expired?cursor=bm9wZQ' })).statusCode, 400)
})

t.test('who reads the reports: the producer unit, the office, auditors (and the supervisor, for retention)', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  await insertDataset(h, { code: 'drafty', status: 'draft', published_at: null })
  await createUnit(h, 'MATH')
  const get = (role: Parameters<TestApp['as']>[0], unit: string, code: string, report = 'quality') =>
    h.as(role, { method: 'GET', url: `/api/v1/datasets/${code}/${report}` }, { unit })
  for (const code of ['students', 'drafty']) {
    for (const report of ['quality', 'retention']) {
      t.equal((await get('steward', 'CS', code, report)).statusCode, 200, `CS steward: ${code} ${report}`)
      t.equal((await get('consumer', 'CS', code, report)).statusCode, 200, `CS consumer: ${code} ${report}`)
      t.equal((await get('security_admin', 'OFFICE', code, report)).statusCode, 200, `office: ${code} ${report}`)
      t.equal((await get('auditor', 'AUDIT', code, report)).statusCode, 200, `auditor: ${code} ${report}`)
    }
    t.equal((await get('supervisor', 'OFFICE', code, 'retention')).statusCode, 200, `supervisor: ${code} retention`)
    t.match((await get('supervisor', 'OFFICE', code)).json(), { status: 403, code: 'AUTH_FORBIDDEN' }, `supervisor: ${code} quality`)
    t.match((await get('system_admin', 'CS', code)).json(), { status: 403, code: 'AUTH_FORBIDDEN' })
  }
  // another unit: a published dataset is known from the catalog (403), a draft is not (404)
  for (const role of ['steward', 'consumer'] as const) {
    for (const report of ['quality', 'retention']) {
      t.match((await get(role, 'MATH', 'students', report)).json(), { status: 403, code: 'CATALOG_NOT_PRODUCER' }, `MATH ${role}: published ${report}`)
      t.match((await get(role, 'MATH', 'drafty', report)).json(), { status: 404, code: 'CATALOG_DATASET_NOT_FOUND' }, `MATH ${role}: draft ${report}`)
    }
  }
})

t.test('unknown datasets and bad input', async (t) => {
  const h = await build(t)
  await insertDataset(h)
  for (const report of ['quality', 'retention']) {
    const res = await h.as('security_admin', { method: 'GET', url: `/api/v1/datasets/nope/${report}` })
    t.match(res.json(), { status: 404, code: 'CATALOG_DATASET_NOT_FOUND', detail: /nope/ })
    t.equal((await h.as('steward', { method: 'GET', url: `/api/v1/datasets/a%20b/${report}` }, { unit: 'CS' })).statusCode, 400)
  }
  for (const query of ['samplePercent=0', 'samplePercent=101', 'samplePercent=abc']) {
    const res = await getQuality(h, 'students', `?${query}`)
    t.equal(res.statusCode, 400, query)
    t.equal(res.json().errors[0].field, 'samplePercent')
  }
  t.equal((await h.app.inject({ method: 'GET', url: '/api/v1/datasets/students/quality' })).statusCode, 401)
})

t.test('report.ts: scale duties at their thresholds (R9.4)', async (t) => {
  const none = { protectionOfficerRequired: false, registrationRequired: false, protectionLevel3Required: false, yearlyAuditRequired: false }
  t.same(scaleFlags(null), none)
  t.same(scaleFlags(0), none)
  t.same(scaleFlags(199_999), none)
  t.same(scaleFlags(200_000), { ...none, protectionOfficerRequired: true, registrationRequired: true })
  t.same(scaleFlags(999_999), { ...none, protectionOfficerRequired: true, registrationRequired: true })
  t.same(scaleFlags(1_000_000), { protectionOfficerRequired: true, registrationRequired: true, protectionLevel3Required: true, yearlyAuditRequired: true })
  t.same(scaleFlags(10, { protectionOfficer: 10, protectionLevel3: 11 }), { ...none, protectionOfficerRequired: true, registrationRequired: true })

  const now = new Date('2026-09-30T08:00:00.000Z')
  const facts: QualityFacts = {
    dataset: { code: 'campus_cards', fields: STUDENT_FIELDS.slice(0, 2), updateFrequency: 'daily', retentionDays: 365, personKey: 'student_id', holdsPersonalInfo: true },
    rows: 1_250_000,
    rowsWithPersonKey: 1_250_000,
    persons: 1_200_000,
    expiredRows: 0,
    oldestCreatedAt: null,
    completeness: { samplePercent: 8, basisRows: 100_000, filled: [100_000, 99_000] },
    allTime: { batches: 0, received: 0, accepted: 0, rejected: 0 },
    window: { batches: 0, received: 0, accepted: 0, rejected: 0 },
    lastIngestAt: new Date('2026-09-30T06:00:00.000Z'),
    daily: [],
    topRejectedFields: [],
    rejectedBatches: []
  }
  const report = buildQualityReport(facts, { now })
  t.same(report.persons.flags, scaleFlags(1_000_000))
  t.same(report.persons.thresholds, SCALE_THRESHOLDS)
  t.match(report.completeness, { method: 'sample', samplePercent: 8, overall: 199_000 / 200_000 })
  t.match(report.anomalies, [{ kind: 'required_field_missing', detail: 'required field name is empty in 1000 sampled records' }])
  t.equal(report.validity.allTime.rejectionRate, null)
  t.same(buildQualityReport({ ...facts, persons: 300_000 }, { now }).persons.flags,
    { protectionOfficerRequired: true, registrationRequired: true, protectionLevel3Required: false, yearlyAuditRequired: false })
  t.same(buildQualityReport(facts, { now, thresholds: { protectionOfficer: 2_000_000, protectionLevel3: 3_000_000 } }).persons.flags, scaleFlags(0))
})

t.test('report.ts: freshness, sampling and the window', async (t) => {
  const now = new Date('2026-09-30T08:00:00.000Z')
  const at = (ms: number) => new Date(now.getTime() - ms)
  t.equal(freshness('daily', at(2 * DAY), now).stale, false, 'exactly the allowed age')
  t.match(freshness('daily', at(2 * DAY + 1), now), { stale: true, staleSince: '2026-09-30T07:59:59.999Z' })
  t.match(freshness('realtime', null, now), { stale: true, staleSince: null, ageDays: null, maxAgeDays: 1 })
  t.match(freshness('yearly', at(366 * DAY), now), { stale: false, maxAgeDays: 367, ageDays: 366 })
  t.match(freshness('on_demand', null, now), { stale: false, maxAgeDays: null })

  t.equal(samplingPlan(1000), null)
  t.equal(samplingPlan(1_000_000), null, 'exact up to a million rows')
  t.equal(samplingPlan(2_000_000), 5, 'about 100,000 sampled rows')
  t.equal(samplingPlan(3_000_000), 3.33)
  t.equal(samplingPlan(1e10), 0.01, 'never below 0.01 %')
  t.equal(samplingPlan(1000, 50), 50, 'the caller may ask for a sample')
  t.equal(samplingPlan(1e10, 100), null, 'or for exact figures')

  t.equal(windowStart(now).toISOString(), '2026-09-01T00:00:00.000Z')
  t.equal(windowStart(now, 1).toISOString(), '2026-09-30T00:00:00.000Z')
})
