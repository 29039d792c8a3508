// The baseline of bench/data-read.ts in a process of its own: a bare Fastify route running the same
// keyset SELECT through `pg` and returning the rows as stored (unmasked, unaudited, unauthenticated).
// Prints `{"port":…}` once it listens.
//
//   DATABASE_URL=postgres://… node --import tsx bench/bare-read.ts
import Fastify from 'fastify'
import pg from 'pg'
import { bareRecordsRoute } from './bare-route.js'

const pageSize = Number(process.env.BENCH_PAGE_SIZE ?? 100)
const dataset = process.env.BENCH_DATASET ?? 'people'
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
const server = Fastify()
bareRecordsRoute(server, pool, dataset, pageSize)
await server.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ port: (server.server.address() as { port: number }).port })}\n`)
process.once('SIGTERM', () => {
  server.close().then(async () => { await pool.end() }).then(() => process.exit(0), () => process.exit(1))
})
