import type { FastifyInstance } from 'fastify'
import { agreementRoutes } from './agreements/routes.js'
import { consentRoutes } from './consents/routes.js'
import { sweepRecertification } from './grants/recertification.js'
import { grantRoutes } from './grants/routes.js'
import { openRequestRoutes } from './open-requests/routes.js'
import { principalRoutes } from './principals/routes.js'
import { purposeRoutes } from './purposes/routes.js'
import { reportOverdueReviews } from './share-requests/overdue.js'
import { shareRequestRoutes } from './share-requests/routes.js'

/**
 * The authorization service: share requests and their reviews, usage commitments, tripartite
 * agreements, grants, offboarding, personal-information consents and open requests.
 */
export default async function authorization (app: FastifyInstance) {
  // route plugins are registered here, one line each
  await app.register(shareRequestRoutes)
  await app.register(agreementRoutes)
  await app.register(grantRoutes)
  await app.register(openRequestRoutes)
  await app.register(principalRoutes)
  await app.register(consentRoutes)
  await app.register(purposeRoutes)

  // overdue reviews and grants due for re-certification are looked for on a timer, not on a
  // request: nobody may be calling
  let sweeping = false
  const timer = setInterval(() => {
    if (sweeping) return
    sweeping = true
    reportOverdueReviews(app.db)
      .then((ids) => { if (ids.length > 0) app.log.warn({ shareRequests: ids }, 'share request reviews overdue') })
      .catch((err: Error) => { app.log.warn({ err: { message: err.message } }, 'looking for overdue reviews failed') })
      .then(async () => await sweepRecertification(app.db, app.config))
      .then(({ reported, suspended }) => {
        if (reported.length > 0) app.log.warn({ grants: reported }, 'grants due for re-certification')
        if (suspended.length > 0) app.log.warn({ grants: suspended }, 'grants suspended: not re-certified in time')
      })
      .catch((err: Error) => { app.log.warn({ err: { message: err.message } }, 'the re-certification sweep failed') })
      .finally(() => { sweeping = false })
  }, app.config.REVIEW_SWEEP_SECONDS * 1000)
  timer.unref()
  app.addHook('onClose', async () => { clearInterval(timer) })
}
