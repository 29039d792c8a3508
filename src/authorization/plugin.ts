import type { FastifyInstance } from 'fastify'

/**
 * The authorization service: share requests and their reviews, usage commitments, tripartite
 * agreements, grants, offboarding, personal-information consents and open requests.
 */
export default async function authorization (app: FastifyInstance) {
  // route plugins are registered here, one line each
}
