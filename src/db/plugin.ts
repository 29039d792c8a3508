import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Database } from './database.js'
import type { DatabaseHandle } from './create-db.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    database: DatabaseHandle
  }
}

/** Shares one database handle with every service plugin; the caller owns opening it, the app closes it. */
async function dbPlugin (app: FastifyInstance, { handle, close }: { handle: DatabaseHandle, close: boolean }) {
  app.decorate('database', handle)
  app.decorate('db', handle.db)
  if (close) app.addHook('onClose', async () => { await handle.close() })
}

export default fp(dbPlugin, { name: 'db', fastify: '5.x' })
