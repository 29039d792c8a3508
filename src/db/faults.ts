/**
 * Classifies database errors: which mean "the database is not there right now" (answer 503 and let
 * the caller retry) and which leave the connection itself unusable (discard it, never reuse it).
 */

// connection exception, insufficient resources, shutdown, and the idle-in-transaction timeout (which
// ends the session)
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0|25P03$)/
// socket errors of the connection; not every E-code (a route's ENOENT is no database fault)
const SOCKET_CODES = /^(ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENETDOWN|ENOTFOUND|EAI_AGAIN)$/
const BROKEN_MESSAGES = /Connection terminated|Query read timeout|Client has encountered a connection error|connection is closed/i
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|the database system is (starting up|shutting down)/i

/** Set on errors raised while opening a connection (see markConnectFailure). */
const CONNECT_FAILURE = Symbol('datagate.connectFailure')

interface PgLikeError { code?: unknown, message?: unknown }

function parts (err: unknown): { code: string, message: string } {
  const e = (err ?? {}) as PgLikeError
  return { code: typeof e.code === 'string' ? e.code : '', message: typeof e.message === 'string' ? e.message : '' }
}

/** The connection that raised this error must not go back to the pool. */
export function isBrokenConnection (err: unknown): boolean {
  const { code, message } = parts(err)
  return UNAVAILABLE_SQLSTATE.test(code) || BROKEN_MESSAGES.test(message) || SOCKET_CODES.test(code)
}

/**
 * Marks an error raised while opening a connection. Whatever it says (refused, too many clients, the
 * database not accepting connections, being dropped, a rejected password), no query could run: the
 * caller gets a 503 and readiness fails, rather than a 500 for an error no request caused.
 */
export function markConnectFailure<E> (err: E): E {
  if (err !== null && typeof err === 'object' && Object.isExtensible(err)) {
    Object.defineProperty(err, CONNECT_FAILURE, { value: true, enumerable: false })
  }
  return err
}

/** The request failed because the database is unreachable, frozen or overloaded: a 503, not a 500. */
export function isDatabaseUnavailable (err: unknown): boolean {
  const { code, message } = parts(err)
  return code === '57014' || // statement_timeout or cancel
    (err as { [CONNECT_FAILURE]?: boolean } | null)?.[CONNECT_FAILURE] === true ||
    isBrokenConnection(err) || UNAVAILABLE_MESSAGES.test(message) || UNAVAILABLE_MESSAGES.test(code)
}
