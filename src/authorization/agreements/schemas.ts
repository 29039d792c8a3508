import { UnitCodeSchema } from '../../platform/codes.js'
import { Type } from 'typebox'

import { IdSchema } from '../share-requests/schemas.js'

const timestamp = Type.String({ format: 'date-time' })
export const AGREEMENT_PARTIES = ['consumer', 'producer', 'office'] as const

export const SignatureBodySchema = Type.Object({
  party: Type.Enum([...AGREEMENT_PARTIES], {
    description: 'the party the caller signs for: `consumer` (a consumer or steward of the consumer unit), `producer` (a steward of the producer unit), `office` (security_admin)'
  })
}, { additionalProperties: false, examples: [{ party: 'producer' }] })

export const AgreementSchema = Type.Object({
  id: IdSchema,
  shareRequest: IdSchema,
  consumerUnit: UnitCodeSchema,
  producerUnit: UnitCodeSchema,
  content: Type.String({ description: 'the agreement as signed: content, purpose, matters, period, rights and duties (002 §24)' }),
  digest: Type.Object({ sha256: Type.String(), sm3: Type.String() }, { description: 'hex digests of the content' }),
  status: Type.Enum(['pending_signatures', 'signed', 'void'], { description: 'void: the request was withdrawn before every party signed' }),
  signatures: Type.Array(Type.Object({
    party: Type.Enum([...AGREEMENT_PARTIES]),
    signer: Type.String(),
    signerUnit: Type.String(),
    signedAt: timestamp
  })),
  awaiting: Type.Array(Type.Enum([...AGREEMENT_PARTIES]), { description: 'parties yet to sign' }),
  createdAt: timestamp,
  completedAt: Type.Union([timestamp, Type.Null()])
}, {
  description: 'A tripartite agreement (三方协议, R7.3) between the consumer unit, the producer unit and the data-management office',
  examples: [{
    id: '0c5e1f7a-8a0b-4f6b-9a7e-3c2d1b0a9f8e',
    shareRequest: '5f0c6b1e-2d4a-4c3b-9e8f-1a2b3c4d5e6f',
    consumerUnit: 'MATH',
    producerUnit: 'CS',
    content: 'TRIPARTITE DATA SHARING AGREEMENT (数据共享三方协议)\n…',
    digest: { sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', sm3: '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0' },
    status: 'pending_signatures',
    signatures: [{ party: 'producer', signer: 'cs-steward', signerUnit: 'CS', signedAt: '2026-11-24T08:00:00.000Z' }],
    awaiting: ['consumer', 'office'],
    createdAt: '2026-11-24T07:00:00.000Z',
    completedAt: null
  }]
})
