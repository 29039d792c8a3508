// An integrator's view of Datagate: the producer's side is set up first (setup.ts, each actor with
// its own token), then the consumer system runs its whole path (consumer.ts). Exits 0 when every
// step answered as expected, 1 with the failing step otherwise, 2 when the configuration is missing.
import { randomBytes } from 'node:crypto'
import { requestData, signIn, useGrant } from './consumer.js'
import { StepError, apiClient } from './http.js'
import { officeReviews, prepareProducer } from './setup.js'

const USAGE = `Needs these environment variables (see README.md):
  DATAGATE_URL            the platform, e.g. http://127.0.0.1:3000
  DATAGATE_ADMIN_TOKEN    a system_admin token
  DATAGATE_OFFICE_TOKEN   a security_admin token (the office)
  DATAGATE_STEWARD_TOKEN  a steward token of the producer unit
  DATAGATE_PRODUCER_UNIT  the producer unit, the steward token's (default HR)
  DATAGATE_CONSUMER_UNIT  the consumer unit (default LIB)`

async function main (): Promise<number> {
  const env = process.env
  const baseUrl = env.DATAGATE_URL ?? 'http://127.0.0.1:3000'
  const tokens = { admin: env.DATAGATE_ADMIN_TOKEN, office: env.DATAGATE_OFFICE_TOKEN, steward: env.DATAGATE_STEWARD_TOKEN }
  if (!tokens.admin || !tokens.office || !tokens.steward) {
    process.stderr.write(`${USAGE}\n`)
    return 2
  }
  const units = { producer: env.DATAGATE_PRODUCER_UNIT ?? 'HR', consumer: env.DATAGATE_CONSUMER_UNIT ?? 'LIB' }
  // a new dataset each run: lower-case letters and digits, as dataset codes on the data path must be
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
  const admin = apiClient(baseUrl, tokens.admin)
  const office = apiClient(baseUrl, tokens.office)
  const steward = apiClient(baseUrl, tokens.steward)

  process.stdout.write(`== producer side (setup) against ${baseUrl}, run ${run}\n`)
  const prepared = await prepareProducer({ admin, steward, office }, units, run)

  process.stdout.write('== consumer side\n')
  const consumer = await signIn(baseUrl, prepared.consumerClient)
  const { requestId, datasetCode } = await requestData(consumer, prepared.searchTerm)

  process.stdout.write('== the office reviews\n')
  await officeReviews(office, requestId)

  process.stdout.write('== consumer side, with the grant\n')
  await useGrant(consumer, requestId, datasetCode, prepared.records)

  process.stdout.write('== done: every step answered as expected\n')
  return 0
}

main().then(code => { process.exitCode = code }, (error: unknown) => {
  if (error instanceof StepError) {
    process.stderr.write(`FAILED at "${error.step}": ${error.status === null ? '' : `unexpected ${error.status}: `}${error.detail}\n`)
  } else if (error instanceof TypeError && /fetch failed/.test(error.message)) {
    process.stderr.write(`FAILED: cannot reach the platform (${String((error as { cause?: unknown }).cause ?? error.message)})\n`)
  } else {
    process.stderr.write(`FAILED: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  }
  process.exitCode = 1
})
