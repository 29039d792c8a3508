// The producer's side, which an integrator of the consumer system never writes: the platform's
// administrator registers the units and the consumer's service client, the producer unit's steward
// catalogues the dataset with how its data is collected, the office confirms its grading, the steward
// publishes and fills it, and the office reviews the share request. Each acts
// with its own token. Unit codes are fixed (check, then create); dataset codes are new each run, so
// the program runs any number of times against one data dir.
import type { paths } from './api.js'
import { type Api, check, expectStatus, say } from './http.js'

export interface Units { producer: string, consumer: string }

export interface Prepared {
  /** what the consumer searches the catalog for */
  searchTerm: string
  datasetCode: string
  records: number
  /** the consumer system's client credentials, handed over by the administrator */
  consumerClient: { clientId: string, clientSecret: string }
}

type FieldInput = paths['/api/v1/datasets']['post']['requestBody']['content']['application/json']['fields'][number]

/**
 * A field with the server's defaults filled in: the OpenAPI document lists every property that has a
 * default as required, so a generated client has to send them all.
 */
function field (f: Pick<FieldInput, 'name' | 'type'> & Partial<FieldInput>): FieldInput {
  return { required: false, piType: null, description: null, enum: null, pattern: null, maxLength: null, minimum: null, maximum: null, masking: null, ...f }
}

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '周', '吴', '欧阳', '司马']
const GIVEN = ['伟', '芳', '娜', '敏', '静', '磊', '洋', '艳', '勇', '军', '杰', '婷']
const DEPARTMENTS = ['CS', 'MATH', 'LAW', 'LIB', 'FIN']
const TITLES = ['professor', 'associate_professor', 'lecturer', 'engineer', 'librarian']

/** `count` staff records that pass the dataset's checks (mobile numbers, code tables, dates). */
export function staffRecords (count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    staff_id: `T${String(100001 + i)}`,
    name: `${SURNAMES[i % SURNAMES.length]}${GIVEN[(i * 7) % GIVEN.length]}`,
    phone: `139${String(10000000 + i * 37).slice(-8)}`,
    department: DEPARTMENTS[i % DEPARTMENTS.length],
    title: TITLES[(i * 3) % TITLES.length],
    hired_on: `${2000 + (i % 25)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`
  }))
}

export async function prepareProducer (actors: { admin: Api, steward: Api, office: Api }, units: Units, run: string): Promise<Prepared> {
  const { admin, steward, office } = actors
  await ensureUnit(admin, units.producer, 'Human Resources Department', { name: 'Zhou Min', contact: 'dpo-hr@example.edu.cn' })
  await ensureUnit(admin, units.consumer, 'University Library', { name: 'Sun Li', contact: 'dpo-lib@example.edu.cn' })

  // the consumer system is a business system: it gets a service client, not a person's token
  const { data: client } = await expectStatus('register the consumer system as a service client', 201, admin.POST('/api/v1/clients', {
    body: { name: `library card system (${run})`, unit: units.consumer, roles: ['consumer'], holder: 'lib.it' }
  }))
  say('admin', `registered service client ${client.clientId} for unit ${client.unit} (roles ${client.roles.join(', ')})`)

  const datasetCode = `staff_directory_${run}`
  const searchTerm = `staff directory ${run}`
  const { data: dataset } = await expectStatus('register the dataset', 201, steward.POST('/api/v1/datasets', {
    body: {
      code: datasetCode,
      name: 'Staff directory',
      description: 'Who works where: staff number, name, mobile, department, title, hiring date',
      subject: searchTerm,
      category: 'staff',
      shareAttribute: 'conditional',
      openAttribute: 'none',
      // basic personnel data: the office alone reviews its share requests (R7.3)
      personnelBasic: true,
      updateFrequency: 'daily',
      retentionDays: 3650,
      primaryKey: ['staff_id'],
      personKey: 'staff_id',
      fields: [
        field({ name: 'staff_id', type: 'string', required: true, piType: 'staff_id', pattern: '^T[0-9]{6}$', description: 'staff number (工号)' }),
        field({ name: 'name', type: 'string', required: true, piType: 'name' }),
        field({ name: 'phone', type: 'string', piType: 'phone', description: 'mobile number' }),
        field({ name: 'department', type: 'string', required: true, enum: DEPARTMENTS }),
        field({ name: 'title', type: 'string', enum: TITLES }),
        field({ name: 'hired_on', type: 'date' })
      ],
      // personal information: the office confirms the grading only with the collection record (R3.2)
      collection: {
        method: 'business_process',
        channel: 'HR system, nightly interface',
        scope: 'current staff: number, name, mobile, department, title, hiring date',
        frequency: 'daily',
        legalBasis: 'employment and personnel management duties',
        rules: 'https://hr.example.edu.cn/privacy-notice',
        riskAssessment: { reference: 'HR-PIA-2026-01', date: '2026-01-15' }
      }
    }
  }))
  say('steward', `registered dataset ${dataset.code}: grade ${dataset.grade}, share ${dataset.shareAttribute}, personnelBasic ${dataset.personnelBasic}`)

  // the office (security_admin) decides the grade and attributes the steward proposed (001 §8(1))
  const { data: graded } = await expectStatus('the office confirms the grading', 200, office.POST('/api/v1/datasets/{code}/grading-review', {
    params: { path: { code: datasetCode } },
    body: { decision: 'confirm', reason: 'basic staff data: conditional sharing, reviewed by the office' }
  }))
  say('office', `confirmed the grading of ${datasetCode}: ${graded.grading.status} by ${graded.grading.decidedBy ?? '?'}`)

  await expectStatus('publish the dataset', 200, steward.POST('/api/v1/datasets/{code}/publish', { params: { path: { code: datasetCode } } }))
  say('steward', `published ${datasetCode}`)

  const rows = staffRecords(250)
  const { data: ingest } = await expectStatus('ingest the records', 200, steward.PUT('/api/v1/datasets/{code}/records', {
    params: { path: { code: datasetCode } },
    body: rows
  }))
  check('ingest the records', ingest.accepted === rows.length && ingest.rejected.length === 0,
    `${ingest.accepted} accepted, ${ingest.rejected.length} rejected (first: ${JSON.stringify(ingest.rejected[0] ?? null)})`)
  say('steward', `ingested ${ingest.accepted} records (batch ${ingest.batch})`)

  return {
    searchTerm,
    datasetCode,
    records: rows.length,
    consumerClient: { clientId: client.clientId, clientSecret: client.clientSecret }
  }
}

async function ensureUnit (admin: Api, code: string, name: string, officer: { name: string, contact: string }): Promise<void> {
  const found = await admin.GET('/api/v1/units/{code}', { params: { path: { code } } })
  if (found.response.status === 200) {
    say('admin', `unit ${code} exists`)
    return
  }
  await expectStatus(`look up unit ${code}`, 404, Promise.resolve(found))
  await expectStatus(`register unit ${code}`, 201, admin.POST('/api/v1/units', { body: { code, name, officer } }))
  say('admin', `registered unit ${code}`)
}

/** The office (security_admin) approves a request for basic personnel data, which it reviews alone. */
export async function officeReviews (office: Api, requestId: string): Promise<void> {
  const { data: request } = await expectStatus('office review', 200, office.POST('/api/v1/share-requests/{id}/reviews', {
    params: { path: { id: requestId } },
    body: { decision: 'approve', reason: 'library cards for staff: name, number and department are needed; the mobile stays masked' }
  }))
  say('office', `approved share request ${request.id}: status ${request.status}, awaiting [${request.awaiting.join(', ')}]`)
}
