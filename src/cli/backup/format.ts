import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { open as openFile, type FileHandle } from 'node:fs/promises'
import { Transform, type TransformCallback } from 'node:stream'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { AeadError, open as aeadOpen, seal as aeadSeal } from '../../platform/aead.js'
import { CIPHERS, type MasterKey } from '../../platform/master-key.js'

/**
 * The backup file: a clear header, then frames of authenticated ciphertext.
 *
 *     "DGBACKUP" ‖ u16 format version ‖ u32 header length ‖ header (JSON)
 *     frame*: u32 length ‖ sealed (AES-256-GCM, or SM4-CTR + HMAC-SM3)
 *
 * The frames carry the gzip of the dump, cut in CHUNK_BYTES pieces, then one final frame holding the
 * trailer (digest and counts). Each frame's associated data is the header's digest, the frame's index
 * and whether it is the final one: a changed header or frame fails to open, a moved frame fails at its
 * new index, a truncated file lacks its final frame, and nothing may follow that one. The key is
 * derived from the master key and the header's salt (HKDF); a check value in the header tells a wrong
 * key apart from a damaged file before anything is read further.
 */
export const MAGIC = Buffer.from('DGBACKUP', 'latin1')
export const FORMAT_VERSION = 1
export const CHUNK_BYTES = 64 * 1024
const PREAMBLE_BYTES = MAGIC.length + 2 + 4
const MAX_HEADER_BYTES = 64 * 1024
/** a frame's sealed bytes: a chunk and the sealing overhead, or the trailer */
const MAX_FRAME_BYTES = 1024 * 1024
const SALT_BYTES = 32

export const BackupHeaderSchema = Type.Object({
  format: Type.Literal('datagate-backup'),
  version: Type.Literal(FORMAT_VERSION),
  algorithm: Type.Enum([...CIPHERS]),
  kdf: Type.Enum(['hkdf-sha256', 'hkdf-sm3']),
  salt: Type.String({ minLength: 1, maxLength: 64 }),
  keyCheck: Type.String({ pattern: '^[0-9a-f]{32}$' }),
  createdAt: Type.String({ minLength: 1, maxLength: 40 }),
  database: Type.Enum(['postgres', 'pglite']),
  /** the migrations applied to the database it was taken from, in order: its schema version */
  migrations: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 10000 }),
  chunkBytes: Type.Integer({ minimum: 1, maximum: CHUNK_BYTES })
}, { additionalProperties: false })
export type BackupHeader = Static<typeof BackupHeaderSchema>

export const BackupTrailerSchema = Type.Object({
  /** data frames before the trailer */
  frames: Type.Integer({ minimum: 0 }),
  /** bytes of the compressed dump */
  bytes: Type.Integer({ minimum: 0 }),
  /** SHA-256 of the compressed dump */
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  /** rows of every table, by name */
  tables: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  sequences: Type.Integer({ minimum: 0 })
}, { additionalProperties: false })
export type BackupTrailer = Static<typeof BackupTrailerSchema>

export type BackupErrorCode = 'BACKUP_NO_SCHEMA' | 'BACKUP_EXISTS' | 'BACKUP_WRONG_MASTER_KEY' | 'BACKUP_NOT_A_BACKUP' |
  'BACKUP_UNSUPPORTED' | 'BACKUP_DAMAGED' | 'BACKUP_TRUNCATED' | 'BACKUP_SCHEMA_MISMATCH' | 'BACKUP_NOT_EMPTY' | 'BACKUP_TOO_LARGE'

/** A refusal of the backup or restore command, saying what is wrong and what to do. */
export class BackupError extends Error {
  constructor (readonly code: BackupErrorCode, message: string) {
    super(message)
    this.name = 'BackupError'
  }
}

const frameAad = (headerDigest: Buffer, index: number, final: boolean) => {
  const aad = Buffer.alloc(headerDigest.length + 9)
  headerDigest.copy(aad)
  aad.writeBigUInt64BE(BigInt(index), headerDigest.length)
  aad[aad.length - 1] = final ? 1 : 0
  return aad
}

const keyOf = (master: MasterKey, header: Pick<BackupHeader, 'algorithm' | 'salt'>) =>
  master.derive('backup', { algorithm: header.algorithm, salt: Buffer.from(header.salt, 'base64') })
const keyCheckOf = (master: MasterKey, header: Pick<BackupHeader, 'algorithm' | 'salt'>) =>
  master.derive('backup-key-check', { algorithm: header.algorithm, salt: Buffer.from(header.salt, 'base64'), length: 16 }).toString('hex')

/** A new header (fresh salt) and its encoded bytes. */
export function newHeader (master: MasterKey, fields: Pick<BackupHeader, 'algorithm' | 'createdAt' | 'database' | 'migrations'>):
{ header: BackupHeader, bytes: Buffer } {
  const base = { algorithm: fields.algorithm, salt: randomBytes(SALT_BYTES).toString('base64') }
  const header: BackupHeader = {
    format: 'datagate-backup',
    version: FORMAT_VERSION,
    ...base,
    kdf: fields.algorithm === 'sm4' ? 'hkdf-sm3' : 'hkdf-sha256',
    keyCheck: keyCheckOf(master, base),
    createdAt: fields.createdAt,
    database: fields.database,
    migrations: fields.migrations,
    chunkBytes: CHUNK_BYTES
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const preamble = Buffer.alloc(PREAMBLE_BYTES)
  MAGIC.copy(preamble)
  preamble.writeUInt16BE(FORMAT_VERSION, MAGIC.length)
  preamble.writeUInt32BE(json.length, MAGIC.length + 2)
  return { header, bytes: Buffer.concat([preamble, json]) }
}

/**
 * Turns the compressed dump into frames: the header first, a sealed frame per CHUNK_BYTES, and at the
 * end the trailer that `trailer()` completes (it runs once the dump is over).
 */
export class FrameWriter extends Transform {
  readonly #key: Buffer
  readonly #digest: Buffer
  readonly #hash = createHash('sha256')
  #pending: Buffer[] = []
  #pendingBytes = 0
  #index = 0
  #bytes = 0

  constructor (master: MasterKey, private readonly header: { header: BackupHeader, bytes: Buffer },
    private readonly trailer: () => Pick<BackupTrailer, 'tables' | 'sequences'>) {
    super()
    this.#key = keyOf(master, header.header)
    this.#digest = createHash('sha256').update(header.bytes).digest()
    this.push(header.bytes)
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk)
    this.#bytes += chunk.length
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.length
    while (this.#pendingBytes >= CHUNK_BYTES) {
      const all = Buffer.concat(this.#pending)
      this.#frame(all.subarray(0, CHUNK_BYTES), false)
      this.#pending = [all.subarray(CHUNK_BYTES)]
      this.#pendingBytes = all.length - CHUNK_BYTES
    }
    callback()
  }

  override _flush (callback: TransformCallback): void {
    try {
      if (this.#pendingBytes > 0) this.#frame(Buffer.concat(this.#pending), false)
      const { tables, sequences } = this.trailer()
      const trailer: BackupTrailer = { frames: this.#index, bytes: this.#bytes, sha256: this.#hash.digest('hex'), tables, sequences }
      this.#frame(Buffer.from(JSON.stringify(trailer), 'utf8'), true)
      callback()
    } catch (err) {
      callback(err as Error)
    }
  }

  #frame (plaintext: Buffer, final: boolean) {
    const sealed = aeadSeal(this.header.header.algorithm, this.#key, plaintext, frameAad(this.#digest, this.#index, final))
    const length = Buffer.alloc(4)
    length.writeUInt32BE(sealed.length)
    this.push(Buffer.concat([length, sealed]))
    this.#index++
  }
}

/** A backup file opened under a master key: its header checked, the key proven right. */
export interface OpenedBackup {
  file: string
  header: BackupHeader
  /** the compressed dump, frame by frame, authenticated; then the checked trailer is returned */
  frames (): AsyncGenerator<Buffer, BackupTrailer>
  close (): Promise<void>
}

export async function openBackup (file: string, master: MasterKey): Promise<OpenedBackup> {
  let handle: FileHandle
  try {
    handle = await openFile(file, 'r')
  } catch (err) {
    throw new BackupError('BACKUP_NOT_A_BACKUP', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  try {
    const read = async (position: number, length: number) => {
      const buffer = Buffer.alloc(length)
      const { bytesRead } = await handle.read(buffer, 0, length, position)
      return buffer.subarray(0, bytesRead)
    }
    const preamble = await read(0, PREAMBLE_BYTES)
    if (preamble.length < PREAMBLE_BYTES || !preamble.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new BackupError('BACKUP_NOT_A_BACKUP', `${file} is not a Datagate backup (it does not begin with the backup signature)`)
    }
    const version = preamble.readUInt16BE(MAGIC.length)
    if (version !== FORMAT_VERSION) throw new BackupError('BACKUP_UNSUPPORTED', `${file} is a backup of format ${version}; this version of Datagate reads format ${FORMAT_VERSION}`)
    const headerLength = preamble.readUInt32BE(MAGIC.length + 2)
    const json = headerLength <= MAX_HEADER_BYTES ? await read(PREAMBLE_BYTES, headerLength) : Buffer.alloc(0)
    let header: unknown
    try {
      header = json.length === headerLength ? JSON.parse(json.toString('utf8')) : undefined
    } catch {}
    if (!Value.Check(BackupHeaderSchema, header)) throw new BackupError('BACKUP_DAMAGED', `${file}: the backup header is damaged`)
    const expected = Buffer.from(keyCheckOf(master, header), 'hex')
    if (!timingSafeEqual(expected, Buffer.from(header.keyCheck, 'hex'))) {
      throw new BackupError('BACKUP_WRONG_MASTER_KEY', `${file} was made under another master key than ${master.source} (fingerprint ${master.fingerprint}): ` +
        'give the master key the backup was made with; nothing was restored')
    }
    const key = keyOf(master, header)
    const digest = createHash('sha256').update(preamble).update(json).digest()
    const checked: BackupHeader = header
    return {
      file,
      header: checked,
      frames: async function * () {
        let position = PREAMBLE_BYTES + headerLength
        const hash = createHash('sha256')
        let bytes = 0
        for (let index = 0; ; index++) {
          const lengthBytes = await read(position, 4)
          if (lengthBytes.length === 0) throw new BackupError('BACKUP_TRUNCATED', `${file} is truncated: it ends after ${index} frames, before its final frame`)
          const length = lengthBytes.length === 4 ? lengthBytes.readUInt32BE() : 0
          if (length === 0 || length > MAX_FRAME_BYTES) throw damaged(file, index)
          const sealed = await read(position + 4, length)
          if (sealed.length !== length) throw new BackupError('BACKUP_TRUNCATED', `${file} is truncated: frame ${index} is cut short`)
          position += 4 + length
          const final = await openFrame(key, sealed, digest, index, file)
          if (final.final) {
            if ((await read(position, 1)).length > 0) throw new BackupError('BACKUP_DAMAGED', `${file} is damaged: bytes follow its final frame`)
            return checkTrailer(file, final.plaintext, { frames: index, bytes, sha256: hash.digest('hex') })
          }
          hash.update(final.plaintext)
          bytes += final.plaintext.length
          yield final.plaintext
        }
      },
      close: async () => { await handle.close() }
    }
  } catch (err) {
    await handle.close()
    throw err
  }
}

const damaged = (file: string, index: number) =>
  new BackupError('BACKUP_DAMAGED', `${file} is damaged or was changed after it was written: frame ${index} fails its integrity check`)

/** Opens frame `index` as a data frame, else as the final one; neither means it was changed or moved. */
async function openFrame (key: Buffer, sealed: Buffer, digest: Buffer, index: number, file: string): Promise<{ plaintext: Buffer, final: boolean }> {
  for (const final of [false, true]) {
    try {
      return { plaintext: aeadOpen(key, sealed, frameAad(digest, index, final)), final }
    } catch (err) {
      if (!(err instanceof AeadError)) throw err
    }
  }
  throw damaged(file, index)
}

function checkTrailer (file: string, plaintext: Buffer, seen: { frames: number, bytes: number, sha256: string }): BackupTrailer {
  let trailer: unknown
  try {
    trailer = JSON.parse(plaintext.toString('utf8'))
  } catch {}
  if (!Value.Check(BackupTrailerSchema, trailer) || trailer.frames !== seen.frames || trailer.bytes !== seen.bytes || trailer.sha256 !== seen.sha256) {
    throw new BackupError('BACKUP_DAMAGED', `${file} is damaged: its final digest does not match its content`)
  }
  return trailer
}
