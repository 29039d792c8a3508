import type { Transaction } from 'kysely'
import { canSee } from '../../catalog/index.js'
import type { Database, Dataset, Purpose } from '../../db/database.js'
import type { Principal } from '../../platform/auth/plugin.js'
import { FieldError } from '../../platform/errors.js'
import { purposeInUse } from '../purposes/repository.js'
import { ConsentForbiddenError } from './errors.js'
import type { NewConsent } from './repository.js'
import { checkKind, checkPeriod } from './rules.js'
import type { CreateConsent } from './schemas.js'

type Trx = Transaction<Database>

/**
 * Whether the caller records consents for a dataset: the office for any, a steward (or service
 * client with the steward role) only for its own unit's. The consent is the person's to the holder
 * of their data, never to a unit that uses it (a consumer unit).
 */
export function mayRecordFor (actor: Principal, dataset: Pick<Dataset, 'producer_unit'>): boolean {
  return actor.roles.includes('security_admin') || (actor.roles.includes('steward') && actor.unit === dataset.producer_unit)
}

/**
 * Checks consents one by one against the catalog and the purposes, each dataset and purpose looked
 * up once per batch. A broken rule is a FieldError (400) naming the field, or a ConsentForbiddenError
 * (403) when the caller may not record for the dataset's unit.
 */
export function createConsentChecker (trx: Trx, actor: Principal, now = new Date()) {
  const datasets = new Map<string, Dataset | null>()
  const purposes = new Map<string, Purpose | FieldError>()

  async function dataset (code: string): Promise<Dataset> {
    if (!datasets.has(code)) datasets.set(code, await trx.selectFrom('datasets').selectAll().where('code', '=', code).executeTakeFirst() ?? null)
    const d = datasets.get(code)!
    if (!d || !canSee(actor, d)) throw new FieldError('dataset', `no dataset with code ${code}`)
    return d
  }

  async function purpose (code: string): Promise<Purpose> {
    if (!purposes.has(code)) purposes.set(code, await purposeInUse(trx, code).catch((err: unknown) => { if (err instanceof FieldError) return err; throw err }))
    const p = purposes.get(code)!
    if (p instanceof FieldError) throw p
    return p
  }

  return async function check (input: CreateConsent): Promise<NewConsent> {
    const { givenAt, expiresAt } = checkPeriod(input, now)
    const d = await dataset(input.dataset)
    if (!mayRecordFor(actor, d)) {
      throw new ConsentForbiddenError(`consents for dataset ${d.code} are recorded by its producer unit ${d.producer_unit} (its stewards and service clients) or the office`)
    }
    checkKind(input.kind, d)
    const p = await purpose(input.purposeCode)
    return {
      unit_code: d.producer_unit,
      person_key: input.person,
      dataset_code: d.code,
      purpose_code: p.code,
      purpose: input.purpose ?? null,
      kind: input.kind,
      evidence: input.evidence,
      given_at: givenAt,
      expires_at: expiresAt,
      recorded_by: actor.sub
    }
  }
}
