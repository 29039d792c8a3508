import type { FastifyServerOptions } from 'fastify'

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
          path: req.url.split('?')[0],
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
