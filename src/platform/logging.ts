import type { FastifyServerOptions } from 'fastify'

/** A person key in a path (the person-access lookup) is personal data: the log names the route only. */
const PERSON_IN_PATH = /^(\/api\/v1\/audit\/persons\/)[^/?]*/
const loggedPath = (url: string) => url.split('?')[0]!.replace(PERSON_IN_PATH, '$1[redacted]')

/**
 * pino options: JSON at the configured level, pretty only on a terminal. Requests are logged by
 * method, path and a few allow-listed headers: never the query string (it may carry personal data
 * in filters), never Authorization or cookies, never bodies.
 */
export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie',
        ...['password', 'secret', 'clientSecret', 'client_secret', 'token', 'access_token', 'privateKey', 'authorization']
          .flatMap((key) => [key, `*.${key}`])],
      censor: '[redacted]'
    },
    serializers: {
      req (req: { method: string, url: string, ip?: string, headers: Record<string, unknown> }) {
        return {
          method: req.method,
          path: loggedPath(req.url),
          remoteAddress: req.ip,
          userAgent: req.headers['user-agent'],
          contentLength: req.headers['content-length']
        }
      },
      res (res: { statusCode: number }) {
        return { statusCode: res.statusCode }
      }
    },
    ...(process.stdout.isTTY && process.env.NODE_ENV !== 'production'
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {})
  }
}
