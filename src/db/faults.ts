/**
 * Classifies database errors: which mean "the database is not there right now" (answer 503 and let
 * the caller retry) and which leave the connection itself unusable (discard it, never reuse it).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0)/ // connection exception, insufficient resources, shutdown
const BROKEN_MESSAGES = /Connection terminated|Query read timeout|Client has encountered a connection error|connection is closed/i
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|the database system is (starting up|shutting down)/i

interface PgLikeError { code?: unknown, message?: unknown }

function parts (err: unknown): { code: string, message: string } {
  const e = (err ?? {}) as PgLikeError
  return { code: typeof e.code === 'string' ? e.code : '', message: typeof e.message === 'string' ? e.message : '' }
}

/** The connection that raised this error must not go back to the pool. */
export function isBrokenConnection (err: unknown): boolean {
  const { code, message } = parts(err)
  return UNAVAILABLE_SQLSTATE.test(code) || BROKEN_MESSAGES.test(message) || /^E[A-Z]+$/.test(code)
}

/** The request failed because the database is unreachable, frozen or overloaded: a 503, not a 500. */
export function isDatabaseUnavailable (err: unknown): boolean {
  const { code, message } = parts(err)
  return code === '57014' || // statement_timeout or cancel
    isBrokenConnection(err) || UNAVAILABLE_MESSAGES.test(message) || UNAVAILABLE_MESSAGES.test(code)
}
