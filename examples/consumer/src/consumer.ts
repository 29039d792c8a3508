// The consumer's side: what a campus business system (here the library's card system) does to get
// another unit's data through Datagate. Everything goes through the client generated from the
// platform's OpenAPI document; the program stops at the first answer that is not the expected one.
import { createHash } from 'node:crypto'
import { type Api, apiClient, check, expectStatus, say } from './http.js'

const ME = 'consumer'

/** Obtains a token with the client-credentials grant (RFC 6749 §4.4) and returns a client that uses it. */
export async function signIn (baseUrl: string, credentials: { clientId: string, clientSecret: string }): Promise<Api> {
  const anonymous = apiClient(baseUrl, null)
  const { data: token } = await expectStatus('obtain a token', 200, anonymous.POST('/api/v1/auth/token', {
    body: { grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret }
  }))
  say(ME, `obtained a ${token.token_type} token for ${credentials.clientId} (expires in ${token.expires_in} s)`)
  return apiClient(baseUrl, token.access_token)
}

/** Finds the one published dataset the search term names, and files a share request for it. */
export async function requestData (api: Api, searchTerm: string): Promise<{ requestId: string, datasetCode: string }> {
  const { data: found } = await expectStatus('search the catalog', 200, api.GET('/api/v1/datasets', {
    params: { query: { q: searchTerm, status: 'published', limit: 20 } }
  }))
  check('search the catalog', found.data.length === 1, `"${searchTerm}" matched ${found.data.length} published datasets, expected 1`)
  const dataset = found.data[0]!
  say(ME, `found ${dataset.code} ("${dataset.name}") of unit ${dataset.producerUnit}: grade ${dataset.grade}, share ${dataset.shareAttribute}, ` +
    `fields ${dataset.fields.map(f => f.piType === null ? f.name : `${f.name}(${f.piType})`).join(', ')}`)

  const today = campusDay(0)
  const { data: request } = await expectStatus('file a share request', 201, api.POST('/api/v1/share-requests', {
    body: {
      dataset: dataset.code,
      // minimum necessary (R7.5): what a library card needs, not the title or hiring date
      fields: ['staff_id', 'name', 'phone', 'department'],
      rowFilter: {},
      purpose: 'issue and renew library cards for staff',
      legalBasis: 'performance of statutory duties (履行法定职责)',
      accessModes: ['api', 'export'],
      validFrom: today,
      validUntil: campusDay(180),
      dailyRowQuota: 5000,
      thirdParty: false
    }
  }))
  say(ME, `filed share request ${request.id}: status ${request.status}, workflow ${request.workflow}, awaiting [${request.awaiting.join(', ')}], ` +
    `review due ${request.reviewDueAt ?? '-'}`)

  // the usage commitment (R7.4) may be signed while the review runs
  const { data: signed } = await expectStatus('sign the usage commitment', 200, api.POST('/api/v1/share-requests/{id}/commitment', {
    params: { path: { id: request.id } },
    body: { accept: true }
  }))
  check('sign the usage commitment', signed.commitment !== null, 'the answer carries no commitment')
  say(ME, `signed the usage commitment (sha256 ${signed.commitment.digest.sha256.slice(0, 16)}…), awaiting [${signed.awaiting.join(', ')}]`)
  return { requestId: request.id, datasetCode: dataset.code }
}

/** After the review: the grant, what it allows, every page of the data, and an export file. */
export async function useGrant (api: Api, requestId: string, datasetCode: string, expectedRows: number): Promise<void> {
  const { data: request } = await expectStatus('read the share request', 200, api.GET('/api/v1/share-requests/{id}', {
    params: { path: { id: requestId } }
  }))
  check('read the share request', request.status === 'active' && request.grant !== null,
    `status ${request.status}, awaiting [${request.awaiting.join(', ')}]: no grant yet`)

  const { data: grants } = await expectStatus('list the grants', 200, api.GET('/api/v1/grants', {
    params: { query: { dataset: datasetCode, status: 'active', limit: 10 } }
  }))
  const grant = grants.data.find(g => g.id === request.grant)
  check('list the grants', grant !== undefined, `grant ${request.grant} is not among the unit's active grants on ${datasetCode}`)
  say(ME, `grant ${grant.id}: fields ${grant.fields.join(', ')}; modes ${grant.accessModes.join(', ')}; ` +
    `${grant.validFrom} to ${grant.validUntil}; ${grant.dailyRowQuota} rows a day; masked ${grant.masked}`)

  const { data: schema } = await expectStatus('read the data schema', 200, api.GET('/api/v1/data/{dataset}/schema', {
    params: { path: { dataset: datasetCode } }
  }))
  say(ME, `schema (profile ${schema.profile ?? 'unmasked'}): ` +
    schema.fields.map(f => `${f.name} ${f.masked ? `masked by ${f.strategy}` : 'as stored'}`).join('; '))

  await readAllPages(api, datasetCode, expectedRows)
  await exportFile(api, datasetCode, expectedRows)
}

async function readAllPages (api: Api, datasetCode: string, expectedRows: number): Promise<void> {
  let cursor: string | undefined
  let rows = 0
  let page = 0
  do {
    page++
    const { data, response } = await expectStatus(`read page ${page}`, 200, api.GET('/api/v1/data/{dataset}/records', {
      params: { path: { dataset: datasetCode }, query: { limit: 100, ...(cursor === undefined ? {} : { cursor }) } }
    }))
    // the route also speaks CSV and NDJSON; without an Accept header the answer is the JSON page
    check(`read page ${page}`, typeof data !== 'string', 'expected a JSON page, got text')
    const auditEvent = response.headers.get('x-audit-event')
    check(`read page ${page}`, auditEvent !== null, 'no X-Audit-Event header: a read is always audited before it is answered')
    if (page === 1) {
      check('read page 1', data.masked.includes('name') && data.masked.includes('phone'), `masked fields are [${data.masked.join(', ')}]`)
      say(ME, `first row: ${JSON.stringify(data.data[0])}`)
    }
    rows += data.data.length
    say(ME, `page ${page}: ${data.data.length} rows, masked [${data.masked.join(', ')}], audit event ${auditEvent}, ` +
      `${data.nextCursor === null ? 'last page' : 'more'}`)
    cursor = data.nextCursor ?? undefined
  } while (cursor !== undefined)
  check('read every page', rows === expectedRows, `read ${rows} rows, the dataset holds ${expectedRows}`)
  say(ME, `read ${rows} rows in ${page} pages`)
}

/** Asks for a CSV export, waits for it (generously: it is a background job), downloads and checks it. */
async function exportFile (api: Api, datasetCode: string, expectedRows: number): Promise<void> {
  const { data: asked, response } = await expectStatus('ask for an export', 202, api.POST('/api/v1/data/{dataset}/exports', {
    params: { path: { dataset: datasetCode } },
    body: { fields: ['staff_id', 'name', 'department'] }
  }))
  say(ME, `asked for export ${asked.id}: ${asked.rowsTotal} rows, status ${asked.status}, audit event ${response.headers.get('x-audit-event')}`)

  let job = asked
  const deadline = Date.now() + 120_000
  while (job.status === 'queued' || job.status === 'running') {
    check('wait for the export', Date.now() < deadline, `export ${job.id} still ${job.status} after two minutes`)
    await new Promise(resolve => setTimeout(resolve, 250))
    job = (await expectStatus('poll the export', 200, api.GET('/api/v1/exports/{id}', { params: { path: { id: asked.id } } }))).data
  }
  check('wait for the export', job.status === 'done' && job.sha256 !== null, `export ${job.id} is ${job.status}${job.error === null ? '' : `: ${job.error}`}`)
  say(ME, `export ${job.id} done: ${job.rowsWritten} rows, ${job.bytes} bytes, sha256 ${job.sha256.slice(0, 16)}…`)

  const { data: file, response: download } = await expectStatus('download the export', 200, api.GET('/api/v1/exports/{id}/file', {
    params: { path: { id: job.id } },
    parseAs: 'arrayBuffer'
  }))
  const bytes = Buffer.from(file)
  const digest = createHash('sha256').update(bytes).digest('hex')
  check('download the export', digest === job.sha256, `the file's SHA-256 is ${digest}, the export says ${job.sha256}`)
  // a header line, every row, and a few synthetic decoy rows that watermark the file
  const lines = bytes.toString('utf8').split(/\r?\n/).filter(line => line !== '')
  check('download the export', job.rowsWritten === expectedRows && lines.length > expectedRows,
    `${job.rowsWritten} rows written and ${lines.length} lines in the file, the dataset holds ${expectedRows}`)
  say(ME, `downloaded ${download.headers.get('content-disposition')?.replace(/^.*filename="?([^"]+)"?$/, '$1') ?? 'the file'}: ` +
    `${lines.length} lines (header ${lines[0]}), digest checked, audit event ${download.headers.get('x-audit-event')}`)
}

/** A calendar day on the campus clock (UTC+8), `offset` days from today. */
function campusDay (offset: number): string {
  return new Date(Date.now() + 8 * 3_600_000 + offset * 86_400_000).toISOString().slice(0, 10)
}
