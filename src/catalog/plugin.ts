import type { FastifyInstance } from 'fastify'
import { correctionRoutes } from './corrections/routes.js'
import { datasetRoutes } from './datasets/routes.js'
import { destructionRoutes } from './destructions/routes.js'
import { encryptionRoutes } from './encryption/routes.js'
import { startEncryptionSweeps } from './encryption/timer.js'
import { gradingRoutes } from './datasets/grading-routes.js'
import { openReviewRoutes } from './open-reviews/routes.js'
import { qualityRoutes } from './quality/routes.js'
import { recordsRoutes } from './records/routes.js'
import { startRetentionSweeps } from './retention/timer.js'
import { systemsRoutes } from './systems/routes.js'
import { unitRoutes } from './units/routes.js'

/**
 * The catalog service: units, the graded dataset catalog and its grading policy, authoritative
 * record ingest, quality, data-error correction and retention, the asset registry of business systems, and supervised
 * destruction with the retention sweep that proposes it.
 */
export default async function catalog (app: FastifyInstance) {
  await app.register(unitRoutes)
  await app.register(gradingRoutes)
  await app.register(datasetRoutes)
  await app.register(recordsRoutes)
  await app.register(qualityRoutes)
  await app.register(correctionRoutes)
  await app.register(systemsRoutes)
  await app.register(openReviewRoutes)
  await app.register(encryptionRoutes)
  await app.register(destructionRoutes)
  // datasets past their retention period get destruction proposals on a timer (R5.2)
  startRetentionSweeps(app)
  // records stored in the clear before every PI field was sealed, and kept masked forms of an older policy
  startEncryptionSweeps(app)
}
