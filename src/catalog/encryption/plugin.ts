import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Dataset } from '../../db/database.js'
import type { AeadSuite } from '../../platform/aead.js'
import { codecFor, encryptedFields, type RecordCodec } from './codec.js'
import { createKeyring, type Keyring, type MasterKey } from './keyring.js'

/** Encryption at rest of this process: the keyring and the record codec of each dataset. */
export interface Encryption {
  keyring: Keyring
  suite: AeadSuite
  /** the codec of a dataset's records as it is now, or null when nothing of it is encrypted */
  codec (dataset: Pick<Dataset, 'code' | 'fields' | 'grade' | 'encrypted_fields' | 'primary_key' | 'person_key'>): Promise<RecordCodec | null>
}

declare module 'fastify' {
  interface FastifyInstance {
    encryption: Encryption
  }
}

const registry = new WeakMap<object, Encryption>()
/** The encryption of the process running over a database handle (tests, the CLI, benchmarks). */
export const encryptionOf = (db: object): Encryption | undefined => registry.get(db)

export function createEncryption (db: FastifyInstance['db'], { masters, suite }: { masters: readonly MasterKey[], suite: AeadSuite }): Encryption {
  const keyring = createKeyring(db, { masters, suite })
  const codecs = new Map<string, Promise<RecordCodec | null>>()
  return {
    keyring,
    suite,
    async codec (dataset) {
      const id = `${dataset.code}\u0000${encryptedFields(dataset).join(',')}`
      let codec = codecs.get(id)
      if (!codec) {
        if (codecs.size > 10_000) codecs.clear()
        codec = codecFor(keyring, dataset, suite)
        codecs.set(id, codec)
        codec.catch(() => { codecs.delete(id) }) // a destroyed or unreadable key is asked again next time
      }
      return await codec
    }
  }
}

/**
 * Encryption at rest for the processes that touch records (all-in-one, catalog, gateway). The
 * master key is checked against the database before the process serves anything: the wrong key
 * stops the start-up with a clear error, and nothing is written.
 */
async function encryption (app: FastifyInstance, options: { masters: readonly MasterKey[], suite: AeadSuite }) {
  const enc = createEncryption(app.db, options)
  await enc.keyring.verify()
  app.decorate('encryption', enc)
  registry.set(app.db, enc)
}

export default fp(encryption, { name: 'encryption', dependencies: ['db'], fastify: '5.x' })
