import type { FastifyInstance } from 'fastify'
import type pg from 'pg'

/**
 * The baseline of the read benchmarks: `GET /records?after=<record key>` running the same keyset
 * SELECT of `dataset` as the data path through `pg` and returning the rows as stored (unmasked,
 * unaudited, unauthenticated).
 */
export function bareRecordsRoute (server: FastifyInstance, pool: pg.Pool, dataset: string, pageSize: number): void {
  server.get('/records', async (req) => {
    const { after } = req.query as { after: string }
    const result = await pool.query('select record_key, data from records where dataset_code = $1 and record_key > $2 order by record_key limit $3', [dataset, after, pageSize + 1])
    return { data: result.rows.slice(0, pageSize).map((r: { data: unknown }) => r.data) }
  })
}
