import type { Generated, Selectable } from 'kysely'
import type { CreatedAt } from '../../db/columns.js'

export interface AgreementTable {
  id: Generated<string>
  share_request_id: string
  consumer_unit: string
  producer_unit: string
  content: string
  digest_sha256: string
  digest_sm3: string
  status: 'pending_signatures' | 'signed' | 'void'
  created_at: CreatedAt
  completed_at: Date | null
}
export type Agreement = Selectable<AgreementTable>

export type AgreementParty = 'consumer' | 'producer' | 'office'
export interface AgreementSignatureTable {
  agreement_id: string
  party: AgreementParty
  signer_sub: string
  signer_unit: string
  signed_at: CreatedAt
}
export type AgreementSignature = Selectable<AgreementSignatureTable>
