// One typed client per actor, and the one rule every call follows here: the status is the one the
// step expects, or the program stops saying which step, what came back and why.
import createClient, { type Client } from 'openapi-fetch'
import type { paths } from './api.js'

export type Api = Client<paths>

/** A client that sends `token` as its bearer token; `token` may change (a client-credentials renewal). */
export function apiClient (baseUrl: string, token: string | (() => string) | null): Api {
  const client = createClient<paths>({ baseUrl })
  if (token !== null) {
    client.use({
      onRequest ({ request }) {
        request.headers.set('authorization', `Bearer ${typeof token === 'string' ? token : token()}`)
        return request
      }
    })
  }
  return client
}

/** An answer that is not what the step expects: the step, the status and the problem document. */
export class StepError extends Error {
  constructor (readonly step: string, readonly status: number | null, readonly detail: string) {
    super(`${step}: ${status === null ? '' : `unexpected ${status}: `}${detail}`)
    this.name = 'StepError'
  }
}

interface Answer { data?: unknown, error?: unknown, response: Response }

/**
 * Awaits an openapi-fetch call and returns its typed body when the status is `status`; any other
 * status throws a StepError with the problem document's code, detail and field errors.
 */
export async function expectStatus<R extends Answer> (step: string, status: number, call: Promise<R>): Promise<{ data: NonNullable<R['data']>, response: Response }> {
  const answer = await call
  if (answer.response.status !== status) throw new StepError(step, answer.response.status, describe(answer.error))
  return { data: answer.data as NonNullable<R['data']>, response: answer.response }
}

/** Stops the program unless `condition` holds: the platform answered, but not what the step needs. */
export function check (step: string, condition: boolean, detail: string): asserts condition {
  if (!condition) throw new StepError(step, null, detail)
}

function describe (error: unknown): string {
  if (typeof error === 'string') return error.slice(0, 500)
  if (typeof error !== 'object' || error === null) return String(error)
  // RFC 9457 problem document: code, detail, and the fields at fault for a 400
  const problem = error as { code?: string, title?: string, detail?: string, errors?: Array<{ field?: string, message?: string }> }
  const fields = (problem.errors ?? []).map(e => `${e.field ?? '?'} ${e.message ?? ''}`.trim())
  return [problem.code, problem.detail ?? problem.title, fields.length > 0 ? `(${fields.join('; ')})` : '']
    .filter(Boolean).join(' ')
}

/** Prints one line of the program's progress. */
export function say (actor: string, text: string): void {
  process.stdout.write(`[${actor}] ${text}\n`)
}
