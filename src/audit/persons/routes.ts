import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { FieldError, ServiceUnavailableError } from '../../platform/errors.js'
import { fetchPage, POSITIVE_SEQ_KEY, readCursor } from '../../platform/pagination.js'
import { AUTHENTICATED_PROBLEMS, problems } from '../../platform/schemas.js'
import { AUDIT_READ_REFUSAL, recordOrRefuse } from '../record.js'
import { createPersonAccessRepository, type PersonAccessRow } from './repository.js'
import { PersonAccessPageSchema, PersonAccessParamsSchema, PersonAccessQuerySchema, type PersonAccess } from './schemas.js'
import type { PersonTracer } from './trace.js'

const tags = ['audit']
/** Reading the log is the auditor's alone (R1.2): the office asks the auditor on the person's behalf. */
const auditors = { roles: ['auditor'] } as const

function toAccess (row: PersonAccessRow, purposes: Map<string, string>): PersonAccess {
  const masked = row.masked ?? []
  return {
    seq: row.seq,
    occurredAt: row.occurred_at,
    action: row.action === 'export' ? 'export' : 'query',
    operation: row.operation,
    dataset: row.dataset_code,
    unit: row.actor_unit,
    actor: row.actor_sub,
    client: row.actor_client,
    grant: row.grant_id,
    purpose: row.grant_id === null ? null : purposes.get(row.grant_id) ?? null,
    purposeCode: row.purpose_code,
    fields: row.fields ?? [],
    masked: masked.length > 0,
    maskedFields: masked,
    export: row.export_id
  }
}

/**
 * The person's right to know (003 3(1), 3(3)): every read and export that served a person's rows,
 * found through the keyed digests of their person key. The lookup is itself recorded, naming the
 * digest, never the key. `tracer` is null in a process without the master key.
 */
export const personAccessRoutes: FastifyPluginAsyncTypebox<{ tracer: PersonTracer | null }> = async (app, { tracer }) => {
  const repo = createPersonAccessRepository(app.db)

  app.get('/audit/persons/:personKey/accesses', {
    config: { access: auditors },
    schema: {
      tags,
      summary: 'Who used a person\'s data',
      description: 'Every read (`data.records.read`, `open.records.read`) and export (`data.export.write`: the rows an export wrote into its file) ' +
        'that served rows of the person, newest first: when, which unit and subject, under which grant and purpose, which fields, and whether ' +
        'masked. Reads are traced as AUDIT_PERSON_TRACE says (default: datasets holding sensitive or children\'s personal information; ' +
        'children\'s data always), by HMAC digests of the person key under a key of their own; a dataset that names no person key is ' +
        'not traced. Filters: `dataset`, `from`, `to` (time of the access); keyset pages of at most 100. The lookup is recorded in the ' +
        'audit log with the person\'s digest, never the key.',
      operationId: 'listPersonAccesses',
      params: PersonAccessParamsSchema,
      querystring: PersonAccessQuerySchema,
      response: { 200: PersonAccessPageSchema, ...problems(...AUTHENTICATED_PROBLEMS, 503) }
    }
  }, async (request) => {
    const q = request.query
    if (q.from !== undefined && q.to !== undefined && Date.parse(q.from) >= Date.parse(q.to)) throw new FieldError('to', 'must be after from')
    if (!tracer) throw new ServiceUnavailableError('this process holds no master key, so it cannot compute person digests; ask the all-in-one or gateway process')
    const beforeSeq = readCursor(q.cursor, POSITIVE_SEQ_KEY)
    const digests = tracer.candidates(request.params.personKey)
    const digest = digests[0]!.toString('hex')
    await app.audit.flush() // reads sealed so far are in the chain before anyone looks
    const { page, nextCursor } = await fetchPage(q.limit, (limit) => repo.accesses({ digests, dataset: q.dataset, from: q.from, to: q.to, beforeSeq, limit }), (r) => [r.seq])
    const purposes = await repo.purposes(page.map((r) => r.grant_id))
    await recordOrRefuse(request, async () => await app.audit.appendFor(request, {
      service: 'audit',
      action: 'query',
      operation: 'audit.persons.accesses',
      objectType: 'person',
      objectId: digest,
      dataset: q.dataset ?? null,
      rows: page.length,
      details: { filter: { dataset: q.dataset, from: q.from, to: q.to }, cursor: beforeSeq !== undefined }
    }), AUDIT_READ_REFUSAL)
    return { digest, data: page.map((r) => toAccess(r, purposes)), nextCursor }
  })
}
