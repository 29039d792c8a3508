import { sql, type Kysely, type Transaction } from 'kysely'
import type { Agreement, AgreementParty, AgreementSignature, Database } from '../../db/database.js'

type Db = Kysely<Database> | Transaction<Database>

export function createAgreementRepository (db: Kysely<Database>) {
  return {
    async insert (values: { requestId: string, consumerUnit: string, producerUnit: string, content: string, digests: { sha256: string, sm3: string } }, trx: Db): Promise<Agreement> {
      return await trx.insertInto('agreements').values({
        share_request_id: values.requestId,
        consumer_unit: values.consumerUnit,
        producer_unit: values.producerUnit,
        content: values.content,
        digest_sha256: values.digests.sha256,
        digest_sm3: values.digests.sm3,
        status: 'pending_signatures'
      }).returningAll().executeTakeFirstOrThrow()
    },

    async find (id: string, trx: Db = db, { lock = false } = {}): Promise<Agreement | undefined> {
      let q = trx.selectFrom('agreements').selectAll().where('id', '=', id)
      if (lock) q = q.forUpdate()
      return await q.executeTakeFirst()
    },

    async findByRequest (requestId: string, trx: Db = db): Promise<Agreement | undefined> {
      return await trx.selectFrom('agreements').selectAll()
        .where('share_request_id', '=', requestId).where('status', '<>', 'void').executeTakeFirst()
    },

    async signatures (agreementId: string, trx: Db = db): Promise<AgreementSignature[]> {
      return await trx.selectFrom('agreement_signatures').selectAll()
        .where('agreement_id', '=', agreementId).orderBy('signed_at').execute()
    },

    async sign (agreementId: string, party: AgreementParty, signer: { sub: string, unit: string }, trx: Db): Promise<void> {
      await trx.insertInto('agreement_signatures').values({
        agreement_id: agreementId, party, signer_sub: signer.sub, signer_unit: signer.unit
      }).execute()
    },

    async complete (id: string, trx: Db): Promise<Agreement> {
      return await trx.updateTable('agreements').set({ status: 'signed', completed_at: sql`now()` })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    },

    async voidFor (requestId: string, trx: Db): Promise<void> {
      await trx.updateTable('agreements').set({ status: 'void' })
        .where('share_request_id', '=', requestId).where('status', '=', 'pending_signatures').execute()
    }
  }
}
export type AgreementRepository = ReturnType<typeof createAgreementRepository>
