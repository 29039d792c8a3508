import type { FastifyInstance } from 'fastify'
import { unitRoutes } from './units/routes.js'

/** The catalog service: units now; datasets, fields, grading, ingest and quality to come. */
export default async function catalog (app: FastifyInstance) {
  await app.register(unitRoutes)
}
